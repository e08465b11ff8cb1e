import { risksOfDiff, violationsInOutput } from '../src/domain/violations';

describe('violationsInOutput', () => {
  it('names blocked network access, blocked writes, the process limit and the memory limit', () => {
    expect(violationsInOutput('Error: connect ECONNREFUSED 127.0.0.1:5432\n')).toEqual(['network access was blocked by the sandbox (ECONNREFUSED 127.0.0.1:5432)']);
    expect(violationsInOutput("Error: getaddrinfo EAI_AGAIN example.com\n")).toEqual(['network access was blocked by the sandbox (EAI_AGAIN example.com)']);
    expect(violationsInOutput("Error: EROFS: read-only file system, open '/etc/x'")).toEqual(['a write outside the worktree was blocked by the sandbox (EROFS on /etc/x)']);
    expect(violationsInOutput('sh: 1: Cannot fork')).toEqual(['the process limit was reached (fork bomb or runaway process creation)']);
    expect(violationsInOutput('FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory')).toEqual(['the memory limit was reached (JavaScript heap out of memory)']);
    expect(violationsInOutput('ok 1 - all good')).toEqual([]);
  });
});

describe('risksOfDiff', () => {
  it('finds added environment, process and network access, with file and line', () => {
    const diff = ['--- a/src/a.js', '+++ b/src/a.js', '@@ -1,2 +1,4 @@', '+const t = process.env.TOKEN;', '-const u = process.env.OLD;', '+const cp = require("child_process");', "+require('net').connect(1)", ' unchanged', ''].join('\n');
    expect(risksOfDiff(diff)).toEqual([
      { file: 'src/a.js', line: 'const t = process.env.TOKEN;', risk: 'reads environment variables' },
      { file: 'src/a.js', line: 'const cp = require("child_process");', risk: 'starts processes (child_process)' },
      { file: 'src/a.js', line: "require('net').connect(1)", risk: 'opens network connections' },
    ]);
  });
});
