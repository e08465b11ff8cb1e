import { computeGrouping, parameteriseMessage } from './fingerprint';
import type { Frame } from './stack';

const frame = (overrides: Partial<Frame>): Frame => ({ filename: '/app/src/cart.ts', function: 'total', lineno: 10, colno: 5, inApp: true, ...overrides });

describe('computeGrouping', () => {
  it('ignores line and column numbers and directories', () => {
    const a = computeGrouping({ exceptionType: 'TypeError', message: 'x', frames: [frame({ lineno: 10, contextLine: 'return a.b;' })] });
    const b = computeGrouping({ exceptionType: 'TypeError', message: 'y', frames: [frame({ lineno: 99, colno: 1, filename: '/other/src/cart.ts', contextLine: '   return a.b;  ' })] });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.basis).toBe('in-app-frames');
    expect(a.culprit).toBe('src/cart.ts in total');
  });

  it('separates different exception types, functions and context lines', () => {
    const base = computeGrouping({ exceptionType: 'TypeError', message: 'x', frames: [frame({ contextLine: 'return a.b;' })] });
    expect(computeGrouping({ exceptionType: 'RangeError', message: 'x', frames: [frame({ contextLine: 'return a.b;' })] }).fingerprint).not.toBe(base.fingerprint);
    expect(computeGrouping({ exceptionType: 'TypeError', message: 'x', frames: [frame({ function: 'subtotal', contextLine: 'return a.b;' })] }).fingerprint).not.toBe(base.fingerprint);
    expect(computeGrouping({ exceptionType: 'TypeError', message: 'x', frames: [frame({ contextLine: 'return a.c;' })] }).fingerprint).not.toBe(base.fingerprint);
  });

  it('uses the parameterised message when no frame helps', () => {
    const a = computeGrouping({ exceptionType: 'Error', message: 'User 42 not found at 2024-05-01T10:00:00Z', frames: [] });
    const b = computeGrouping({ exceptionType: 'Error', message: 'User 7 not found at 2025-01-02T11:00:00Z', frames: [] });
    expect(a).toMatchObject({ basis: 'message', fingerprint: b.fingerprint });
    expect(parameteriseMessage('order 3f2a9c1e-1b2c-4d5e-8f90-123456789abc for "Ada" failed after 3 tries')).toBe('order <uuid> for <str> failed after <num> tries');
  });

  it('honours a client fingerprint, expanding {{ default }}', () => {
    const input = { exceptionType: 'TypeError', message: 'x', frames: [frame({})] };
    const plain = computeGrouping(input);
    const custom = computeGrouping({ ...input, clientFingerprint: ['payments', '{{ default }}'] });
    expect(custom.basis).toBe('client');
    expect(custom.components).toEqual(['payments', plain.fingerprint]);
    expect(computeGrouping({ ...input, clientFingerprint: ['payments', '{{ default }}'] }).fingerprint).toBe(custom.fingerprint);
    expect(custom.fingerprint).not.toBe(plain.fingerprint);
  });
});
