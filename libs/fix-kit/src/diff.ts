import { createTwoFilesPatch } from 'diff';

/** A minimal unified diff (3 lines of context, `a/` and `b/` prefixes) of one file, git-style headers. */
export function unifiedDiff(file: string, before: string, after: string): string {
  const patch = createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context: 3 });
  // createTwoFilesPatch starts with an "Index:"/"===" banner; `git apply` wants the ---/+++ header first.
  const start = patch.indexOf('--- ');
  return start > 0 ? patch.slice(start) : patch;
}

/** The files a unified diff touches (from its `+++ b/` lines; `/dev/null` for deletions uses the `---` path). */
export function filesOfDiff(diff: string): string[] {
  const files: string[] = [];
  const lines = diff.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('--- ')) continue;
    const next = lines[i + 1] ?? '';
    const from = line.slice(4).split('\t')[0]!.replace(/^a\//, '');
    const to = next.startsWith('+++ ') ? next.slice(4).split('\t')[0]!.replace(/^b\//, '') : from;
    const file = to === '/dev/null' ? from : to;
    if (!files.includes(file)) files.push(file);
  }
  return files;
}
