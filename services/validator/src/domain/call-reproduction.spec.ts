import { judgeCall, planCall, type CallOutcome, type CapturedThrow } from './call-reproduction';

const message = "Cannot read properties of undefined (reading 'push')";
const captured: CapturedThrow = { type: 'TypeError', message, frame: { file: '/srv/app/node_modules/mri/lib/index.js', line: 50, function: 'parse' } };
const threw = (file: string, line: number, fn: string, type = 'TypeError', msg = message): CallOutcome => ({ outcome: 'threw', type, message: msg, frames: [{ file, line, function: fn }], candidate: 0 });
const atCrash = threw('lib/index.js', 50, 'parse');

describe('judging the captured call made again', () => {
  it('given the same exception at the captured frame on the baseline, and a normal return with the patch, then healed', () => {
    expect(judgeCall(captured, atCrash, { outcome: 'returned', candidate: 0 }, [])).toEqual({ kind: 'healed', reason: expect.stringContaining('returns normally with the patch') });
  });

  it('given the patched call still throwing in the same function (its line moved by the patch), then not healed', () => {
    expect(judgeCall(captured, atCrash, threw('lib/index.js', 53, 'parse'), [])).toEqual({ kind: 'not-healed', reason: expect.stringContaining('still throws it with the patch (at lib/index.js:53 in parse)') });
  });

  it('given the same exception one frame further with the patch, then not healed: the crash moved', () => {
    expect(judgeCall(captured, atCrash, threw('lib/index.js', 12, 'toArr'), [])).toEqual({ kind: 'not-healed', reason: expect.stringContaining('the crash moved to lib/index.js:12 in toArr') });
  });

  it('given another exception with the patch, then not healed, unless the policy allows that typed error', () => {
    const typed = threw('lib/index.js', 40, 'parse', 'ValidationError', 'default must be an object');
    expect(judgeCall(captured, atCrash, typed, [])).toEqual({ kind: 'not-healed', reason: expect.stringContaining('with the patch it throws ValidationError: default must be an object instead') });
    expect(judgeCall(captured, atCrash, typed, ['ValidationError'])).toMatchObject({ kind: 'healed' });
  });

  it('given the patched module no longer loading, or the call not ending, then not healed', () => {
    expect(judgeCall(captured, atCrash, { outcome: 'harness-failed', reason: 'the call did not end within 60 s' }, [])).toMatchObject({ kind: 'not-healed', reason: expect.stringContaining('did not end within 60 s') });
  });

  it('given a baseline that returns, throws something else, throws elsewhere, or a harness that failed there, then unproven: nothing was reproduced', () => {
    expect(judgeCall(captured, { outcome: 'returned', candidate: 0 }, undefined, [])).toMatchObject({ kind: 'unproven', reason: expect.stringContaining('returned normally') });
    expect(judgeCall(captured, threw('lib/index.js', 50, 'parse', 'RangeError', 'x'), undefined, [])).toMatchObject({ kind: 'unproven', reason: expect.stringContaining('threw RangeError: x on the unpatched baseline') });
    expect(judgeCall(captured, threw('lib/other.js', 50, 'parse'), undefined, [])).toMatchObject({ kind: 'unproven', reason: expect.stringContaining('not where it was captured') });
    expect(judgeCall(captured, { outcome: 'harness-failed', reason: 'lib/index.js exports no function "parse"' }, undefined, [])).toMatchObject({ kind: 'unproven', reason: expect.stringContaining('exports no function') });
  });
});

describe('planning the call', () => {
  const files = ['lib/index.js', 'src/cart.ts', 'package.json'];
  const frames = [
    { filename: '/srv/app/server.js', function: 'handle', lineno: 3, inApp: true },
    { filename: '/srv/app/node_modules/mri/lib/index.js', function: 'Object.parse', lineno: 50, inApp: true, vars: { args: ['--foo'], opts: '<null>' } },
  ];
  const failure = { exception: { type: 'TypeError', value: message }, frames };

  it("given the call the application named by the package's name, then that call, loaded as the package (import for an ESM package)", () => {
    const plan = planCall({ ...failure, call: { module: 'mri', export: 'default', args: [['--foo']] } }, { packageJson: { name: 'mri', type: 'module' }, files });
    expect(plan).toEqual({ kind: 'planned', prefer: 'import', candidates: [{ module: { kind: 'package', specifier: 'mri' }, export: 'default', construct: false, input: 'call', args: [['--foo']] }] });
  });

  it('given a call naming a module that is neither the package nor a file of it, then no call, saying so', () => {
    expect(planCall({ ...failure, call: { module: 'lodash', export: 'get', args: [] } }, { packageJson: { name: 'mri' }, files })).toEqual({ kind: 'none', reason: expect.stringContaining('"lodash", which is neither this repository\'s package (mri)') });
  });

  it("given no call, then the innermost in-app frame of a repository file with its local variables, then its request data", () => {
    const plan = planCall({ ...failure, request: { method: 'POST', url: '/x', data: '{"a":1}' } }, { packageJson: { name: 'mri' }, files });
    expect(plan).toMatchObject({
      kind: 'planned',
      prefer: 'require',
      candidates: [
        { module: { kind: 'file', path: 'lib/index.js' }, export: 'parse', input: 'locals', vars: { args: ['--foo'], opts: '<null>' } },
        { module: { kind: 'file', path: 'lib/index.js' }, export: 'parse', input: 'request', args: [{ a: 1 }] },
      ],
    });
  });

  it('given neither a call, local variables nor request data, then no call, naming what the report could carry', () => {
    const bare = { ...failure, frames: frames.map(({ vars: _vars, ...f }) => f) };
    expect(planCall(bare, { packageJson: {}, files })).toEqual({ kind: 'none', reason: expect.stringContaining("the report names no call (the native API's `call`, or `contexts.antibody.call` in a Sentry event)") });
  });
});
