import { describeConnectError, retryDelayMs } from './connections';

describe('retryDelayMs', () => {
  it('starts at 0.5s, doubles, and caps at 10s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs)).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });
});

describe('describeConnectError', () => {
  it('prefers the system error code', () => {
    expect(describeConnectError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' }))).toBe(
      'ECONNREFUSED',
    );
  });

  it('takes the code from the first member of an AggregateError', () => {
    const err = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], '');
    expect(describeConnectError(err)).toBe('ECONNREFUSED');
  });

  it('keeps a server error message with its code, on one line', () => {
    const err = Object.assign(new Error('database "nope" does not exist\nDETAIL: x'), { code: '3D000' });
    expect(describeConnectError(err)).toBe('database "nope" does not exist [3D000]');
  });

  it('falls back to the message, then the name', () => {
    expect(describeConnectError(new Error('timeout expired'))).toBe('timeout expired');
    expect(describeConnectError(new TypeError(''))).toBe('TypeError');
    expect(describeConnectError('plain')).toBe('plain');
  });
});
