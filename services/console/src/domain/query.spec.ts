import { decodeCursor, encodeCursor, InvalidInputError, parseCommandBody, parseIncidentListQuery } from './query';

const NOW = Date.parse('2026-02-01T12:00:00.000Z');

describe('the incidents list query', () => {
  it('takes statuses (comma-separated), a service, a since as a time or a duration, a limit and a cursor', () => {
    const cursor = encodeCursor({ openedAt: '2026-01-31T10:00:00.000Z', incidentId: '3f1d2c6b-8a4f-4c55-9d0e-5f0b3f5e4c6a' });
    expect(parseIncidentListQuery({ status: 'escalated,awaiting-approval', service: 'shop', since: '24h', limit: '20', cursor }, NOW)).toEqual({
      statuses: ['escalated', 'awaiting-approval'],
      service: 'shop',
      since: '2026-01-31T12:00:00.000Z',
      limit: 20,
      cursor: { openedAt: '2026-01-31T10:00:00.000Z', incidentId: '3f1d2c6b-8a4f-4c55-9d0e-5f0b3f5e4c6a' },
    });
    expect(parseIncidentListQuery({ since: '2026-01-30T00:00:00+02:00' }, NOW)).toEqual({ since: '2026-01-29T22:00:00.000Z', limit: 50 });
  });

  it.each([
    [{ status: 'fixed' }, /^status: expected one or more of open, diagnosing, .* got "fixed"$/],
    [{ since: 'yesterday' }, /^since: expected an ISO-8601 time .* got "yesterday"$/],
    [{ limit: '501' }, /^limit: expected an integer from 1 to 500; got "501"$/],
    [{ service: 'a b' }, /^service: expected a service name/],
    [{ page: '2' }, /^page: unknown query parameter; this endpoint takes status, service, since, limit, cursor$/],
    [{ status: ['open', 'closed'] }, /^status: give it once/],
  ])('refuses %j saying what is wrong', (query, message) => {
    expect(() => parseIncidentListQuery(query, NOW)).toThrow(InvalidInputError);
    expect(() => parseIncidentListQuery(query, NOW)).toThrow(message);
  });

  it('refuses a cursor it did not give out', () => {
    expect(() => decodeCursor('bm9wZQ')).toThrow('cursor: not a cursor this API gave out');
  });
});

describe('command bodies', () => {
  const P = '11111111-1111-4111-8111-111111111111';

  it('approve and reject name the patch explicitly', () => {
    expect(parseCommandBody('approve', { patchId: P, comment: 'ok' })).toEqual({ patchId: P, comment: 'ok' });
    expect(() => parseCommandBody('reject', {})).toThrow('patchId: required; reject takes patchId, comment');
    expect(() => parseCommandBody('approve', { patchId: 'latest' })).toThrow('patchId: expected a patch id');
  });

  it('refuses unknown fields (a free-text "by" included: who decides is the token), a missing reason, and a body that is not an object', () => {
    expect(() => parseCommandBody('approve', { patchId: P, by: 'ada' })).toThrow('by: unknown field; approve takes patchId, comment');
    expect(() => parseCommandBody('close', { reason: '  ' })).toThrow('reason: a reason is required');
    expect(() => parseCommandBody('retry', { from: 'rollout' })).toThrow(/^from: /);
    expect(() => parseCommandBody('resolve', 'done')).toThrow('body: expected a JSON object');
  });
});
