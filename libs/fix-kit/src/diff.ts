import { createTwoFilesPatch, parsePatch } from 'diff';

/** A minimal unified diff (3 lines of context, `a/` and `b/` prefixes) of one file, git-style headers. */
export function unifiedDiff(file: string, before: string, after: string): string {
  const patch = createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context: 3 });
  // createTwoFilesPatch starts with an "Index:"/"===" banner; `git apply` wants the ---/+++ header first.
  const start = patch.indexOf('--- ');
  return start > 0 ? patch.slice(start) : patch;
}

/** One hunk of a {@link DiffFile}: where it starts on each side, and its lines with their `' '`, `-`, `+` or `\` marker. */
export interface DiffHunk {
  readonly oldStart: number;
  readonly newStart: number;
  readonly lines: readonly string[];
}

/**
 * One file of a unified diff. Paths are relative to the repository, without git's `a/` and `b/`
 * prefixes, unquoted; `oldPath` is absent for a created file, `newPath` for a deleted one (git's
 * `/dev/null`); they differ for a rename or a copy.
 */
export interface DiffFile {
  readonly oldPath?: string;
  readonly newPath?: string;
  readonly hunks: readonly DiffHunk[];
}

/** A diff read into its files, or why it could not be read (a hunk whose lines do not add up, a stray line). */
export type ReadDiff = { readonly kind: 'read'; readonly files: readonly DiffFile[] } | { readonly kind: 'unreadable'; readonly problem: string };

/**
 * Reads a unified diff (git's, with renames, copies, modes and quoted names, or a plain one) with
 * the `diff` package's `parsePatch`: the one diff parser of every service. Never throws: a diff
 * `parsePatch` refuses is `unreadable`, with its message. Entries naming no file (text before the
 * first header, an empty diff) are left out.
 */
export function readDiff(diff: string): ReadDiff {
  let patches: ReturnType<typeof parsePatch>;
  try {
    patches = parsePatch(diff);
  } catch (error) {
    return { kind: 'unreadable', problem: error instanceof Error ? error.message : String(error) };
  }
  const files: DiffFile[] = [];
  for (const patch of patches) {
    const oldPath = pathOf(patch.oldFileName, 'a/');
    const newPath = pathOf(patch.newFileName, 'b/');
    if (oldPath === undefined && newPath === undefined) continue;
    files.push({
      ...(oldPath !== undefined ? { oldPath } : {}),
      ...(newPath !== undefined ? { newPath } : {}),
      hunks: patch.hunks.map((h) => ({ oldStart: h.oldStart, newStart: h.newStart, lines: h.lines })),
    });
  }
  return { kind: 'read', files };
}

function pathOf(name: string | undefined, prefix: 'a/' | 'b/'): string | undefined {
  if (name === undefined || name === '' || name === '/dev/null') return undefined;
  return name.startsWith(prefix) ? name.slice(2) : name;
}

/**
 * Every path a unified diff touches, old and new names of renames and copies both, each once, in
 * the diff's order; empty for a diff {@link readDiff} cannot read.
 */
export function filesOfDiff(diff: string): string[] {
  const read = readDiff(diff);
  if (read.kind === 'unreadable') return [];
  const paths = new Set<string>();
  for (const file of read.files) {
    if (file.oldPath !== undefined) paths.add(file.oldPath);
    if (file.newPath !== undefined) paths.add(file.newPath);
  }
  return [...paths];
}
