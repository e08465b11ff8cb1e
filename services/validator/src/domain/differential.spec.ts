import { decideBehaviour, modulesToRecord, type RecordedCall, type Replayed } from './differential';

const call: RecordedCall = { module: 'lib/parse.js', export: 'parse', args: [['a'], { default: { name: 'x' } }] };
const returned = (value: unknown, after: unknown = []): Replayed => ({ outcome: 'returned', value, after });

describe('the differential check', () => {
  it('given the same results with the patch, then behaviour is kept, counting the calls compared', () => {
    expect(decideBehaviour([call], [returned(1)], [returned(1)], [returned(1)])).toEqual({ kind: 'kept', compared: 1, note: '1 recorded call return the same with the patch' });
  });

  it('given a different result, a throw, or different changes to the arguments with the patch, then changed, naming the call', () => {
    expect(decideBehaviour([call], [returned({ a: 1 })], [returned({ a: 1 })], [returned({})])).toMatchObject({ kind: 'changed', reason: expect.stringContaining('parse(["a"], {"default":{"name":"x"}}) in lib/parse.js returned {"a":1}, and returns {} with the patch') });
    expect(decideBehaviour([call], [returned(1)], [returned(1)], [{ outcome: 'threw', type: 'TypeError', message: 'x is not a function' }])).toMatchObject({ kind: 'changed', reason: expect.stringContaining('now throws TypeError: x is not a function') });
    expect(decideBehaviour([call], [returned(1, [1])], [returned(1, [1])], [returned(1, [2])])).toMatchObject({ kind: 'changed', reason: expect.stringContaining('does to its arguments') });
  });

  it('given a call that threw on the baseline (the failing path) or was not deterministic there, then it is not compared', () => {
    const threw: Replayed = { outcome: 'threw', type: 'TypeError', message: 'boom' };
    expect(decideBehaviour([call], [threw], [threw], [returned(1)])).toMatchObject({ kind: 'not-checked' });
    expect(decideBehaviour([call, call], [returned(1), returned(2)], [returned(5), returned(2)], [returned(9), returned(2)])).toEqual({ kind: 'kept', compared: 1, note: '1 recorded call return the same with the patch (1 left out: not deterministic)' });
  });

  it('records JavaScript the tests load with require, not ES modules of a "type": "module" package', () => {
    const diff = (path: string) => `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n@@ -1 +1 @@\n-a\n+b\n`;
    expect(modulesToRecord(diff('lib/parse.js'), undefined)).toEqual(['lib/parse.js']);
    expect(modulesToRecord(diff('lib/parse.js'), 'module')).toEqual([]);
    expect(modulesToRecord(diff('src/parse.ts'), undefined)).toEqual([]);
  });
});
