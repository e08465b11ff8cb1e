import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throw-away git repository for tests. */
export interface TempRepo {
  readonly dir: string;
  /** Writes the files and commits them; returns the commit sha. */
  commit(files: Record<string, string>, message?: string): string;
  /** Writes files without committing (a working copy that moved on). */
  write(files: Record<string, string>): void;
  remove(): void;
}

/** Creates an empty repository with a `main` branch in a temporary directory. */
export function createTempRepo(): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'antibody-repo-'));
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
  const git = (...args: string[]): string => execFileSync('git', ['-C', dir, ...args], { env, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  const write = (files: Record<string, string>): void => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  };
  return {
    dir,
    commit(files, message = 'change') {
      write(files);
      git('add', '-A');
      git('commit', '--quiet', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    write,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
