import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { filesToRead, type ProjectSnapshot } from '@antibody/fix-kit';
import type { GitRepository } from './git';

/** Bounds of {@link readProject}. */
export interface ProjectReadOptions {
  /** Source files read at most (the changed files, then what they import, breadth first; default 200). */
  readonly maxFiles?: number;
  /** Files read at once from git (default 8). */
  readonly concurrency?: number;
}

const TYPESCRIPT_LIB = dirname(require.resolve('typescript/lib/lib.d.ts'));
const libCache = new Map<string, string | undefined>();

/** TypeScript's default library files (`lib.es2022.d.ts`…), from the TypeScript package the service runs with, read once per process. */
export function readTypeScriptLib(fileName: string): string | undefined {
  if (!/^lib\.[\w.-]+\.d\.ts$|^lib\.d\.ts$/.test(fileName)) return undefined;
  if (!libCache.has(fileName)) {
    try {
      libCache.set(fileName, readFileSync(join(TYPESCRIPT_LIB, fileName), 'utf8'));
    } catch {
      libCache.set(fileName, undefined);
    }
  }
  return libCache.get(fileName);
}

/**
 * Reads at `commit` what a type check of `changed` needs (fix-kit's `filesToRead`: the tsconfig
 * chain, the changed files' imports within the repository, its declaration files), never more
 * than `maxFiles` source files, and returns it as a snapshot for fix-kit's `typeProject`.
 * Packages (node_modules) are not in a commit and are not read. Fails with FixKitError
 * `GIT_FAILED` when git does.
 */
export async function readProject(repo: GitRepository, commit: string, changed: ReadonlyMap<string, string>, options: ProjectReadOptions = {}): Promise<ProjectSnapshot> {
  const maxFiles = options.maxFiles ?? 200;
  const listing = new Set(await repo.listFiles(commit));
  const files = new Map(changed);
  let truncated = false;
  // Each round reads what the previous one showed is needed: configs, then imports a level deeper.
  for (let round = 0; round < 64; round++) {
    const next = filesToRead([...changed.keys()], files, listing, maxFiles);
    if (next.length === 0) break;
    for (let i = 0; i < next.length; i += options.concurrency ?? 8) {
      const batch = next.slice(i, i + (options.concurrency ?? 8));
      const texts = await Promise.all(batch.map((p) => repo.readFile(commit, p)));
      batch.forEach((p, k) => files.set(p, texts[k] ?? ''));
    }
    truncated = [...files.keys()].filter((p) => /\.(m|c)?[jt]sx?$/.test(p)).length >= maxFiles;
  }
  return { files, readLib: readTypeScriptLib, ...(truncated ? { truncated } : {}) };
}
