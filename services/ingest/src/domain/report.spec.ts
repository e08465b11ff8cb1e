import { reportFromNative, reportFromSentryEvent } from './report';
import { createScrubber, FILTERED } from './scrub';

const ctx = { service: 'shop', receivedAt: '2026-01-01T00:00:00.000Z', scrubber: createScrubber(), fallbackId: '00000000-0000-4000-8000-000000000000' };

const exception = (frames: unknown[]) => ({ values: [{ type: 'TypeError', value: "Cannot read properties of undefined (reading 'push')", stacktrace: { frames } }] });

describe('what a report keeps of the failing call', () => {
  it("given a Sentry event with frames' local variables, then each frame keeps them, scrubbed, and an oversized value is dropped", () => {
    const frames = [{ filename: '/app/lib/index.js', function: 'parse', lineno: 50, in_app: true, vars: { args: ['--foo'], opts: { string: [] }, password: 'hunter2', huge: 'x'.repeat(20_000) } }];
    const report = reportFromSentryEvent({ exception: exception(frames) }, ctx);
    expect(report.frames[0]?.vars).toEqual({ args: ['--foo'], opts: { string: [] }, password: FILTERED });
  });

  it("given a Sentry event whose contexts.antibody.call names the call, then the report carries it (arguments scrubbed); any other context is dropped", () => {
    const call = { module: 'mri', export: 'default', args: [['--foo'], { default: { bar: null }, token: 'abc' }] };
    const report = reportFromSentryEvent({ exception: exception([]), contexts: { antibody: { call }, os: { name: 'Linux' } } }, ctx);
    expect(report.call).toEqual({ module: 'mri', export: 'default', args: [['--foo'], { default: { bar: null }, token: FILTERED }] });
    expect(JSON.stringify(report)).not.toContain('Linux');
  });

  it('given a malformed or oversized call, then the report is accepted without it', () => {
    expect(reportFromSentryEvent({ exception: exception([]), contexts: { antibody: { call: { module: 'mri', args: 'not a list' } } } }, ctx).call).toBeUndefined();
    const huge = { module: 'mri', export: 'default', args: ['x'.repeat(70_000)] };
    expect(reportFromSentryEvent({ exception: exception([]), contexts: { antibody: { call: huge } } }, ctx).call).toBeUndefined();
  });

  it('given a native report with a call, then the report carries it', () => {
    const call = { module: 'src/cart.js', export: 'total', args: [{ items: [{ price: { $bigint: '12' } }] }] };
    const report = reportFromNative({ message: 'boom', stack: 'TypeError: boom\n    at total (/app/src/cart.js:3:9)', call }, ctx);
    expect(report.call).toEqual(call);
  });
});
