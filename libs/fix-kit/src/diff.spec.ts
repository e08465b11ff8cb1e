import { filesOfDiff, readDiff, unifiedDiff } from './diff';

const lines = (...l: string[]): string => [...l, ''].join('\n');

describe('readDiff (parsePatch, the one diff parser)', () => {
  it('given a git diff with an edit, a rename, a creation and a deletion, then it names each file without a/ b/', () => {
    const diff = lines(
      'diff --git a/src/a.js b/src/a.js',
      'index 1111111..2222222 100644',
      '--- a/src/a.js',
      '+++ b/src/a.js',
      '@@ -1 +1 @@',
      '-x',
      '+y',
      'diff --git a/src/old.js b/src/new.js',
      'similarity index 100%',
      'rename from src/old.js',
      'rename to src/new.js',
      'diff --git a/src/made.js b/src/made.js',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/src/made.js',
      '@@ -0,0 +1 @@',
      '+z',
      'diff --git a/src/gone.js b/src/gone.js',
      'deleted file mode 100644',
      '--- a/src/gone.js',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-w',
    );
    const read = readDiff(diff);
    expect(read).toEqual({
      kind: 'read',
      files: [
        { oldPath: 'src/a.js', newPath: 'src/a.js', hunks: [{ oldStart: 1, newStart: 1, lines: ['-x', '+y'] }] },
        { oldPath: 'src/old.js', newPath: 'src/new.js', hunks: [] },
        { newPath: 'src/made.js', hunks: [{ oldStart: 1, newStart: 1, lines: ['+z'] }] },
        { oldPath: 'src/gone.js', hunks: [{ oldStart: 1, newStart: 1, lines: ['-w'] }] },
      ],
    });
    expect(filesOfDiff(diff)).toEqual(['src/a.js', 'src/old.js', 'src/new.js', 'src/made.js', 'src/gone.js']);
  });

  it('unquotes git-quoted names and keeps unsafe ones as written, for the policy to refuse', () => {
    expect(filesOfDiff(lines('diff --git "a/sp ace.js" "b/sp ace.js"', '--- "a/sp ace.js"', '+++ "b/sp ace.js"', '@@ -1 +1 @@', '-a', '+b'))).toEqual(['sp ace.js']);
    expect(filesOfDiff(lines('--- /dev/null', '+++ b/../etc/passwd', '--- a/.git/config', '+++ /abs/file'))).toEqual(['../etc/passwd', '.git/config', '/abs/file']);
  });

  it('reads what unifiedDiff writes', () => {
    const diff = unifiedDiff('src/t.js', 'a\nb\n', 'a\nc\n');
    expect(readDiff(diff)).toEqual({ kind: 'read', files: [{ oldPath: 'src/t.js', newPath: 'src/t.js', hunks: [{ oldStart: 1, newStart: 1, lines: [' a', '-b', '+c'] }] }] });
  });

  it('given a hunk whose lines do not add up, then the diff is unreadable, with the reason', () => {
    const read = readDiff(lines('--- a/x', '+++ b/x', '@@ -1 +1 @@', '-a', 'stray', '+b'));
    expect(read).toEqual({ kind: 'unreadable', problem: expect.stringMatching(/invalid line/) });
    expect(filesOfDiff('not a diff at all')).toEqual([]);
  });
});
