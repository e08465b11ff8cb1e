import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { NewEvent } from '@antibody/event-store';
import { baseServiceConfigSchema, createPlatformApp, loadConfig } from '@antibody/platform';
import { createTestStore, freePort, testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { ConsoleModule } from '../src/infrastructure/console.module';
import { ConsoleReadModels } from '../src/infrastructure/read-models';
import { READ_MODEL_TABLES } from '../src/infrastructure/schema';

// The console on real Postgres, in this process: read models projected from the log, the HTTP API
// with its tokens and roles, commands appended to the incident stream, and a rebuild from
// position 0 that gives the same rows as the live projection.

let t: TestStore;
let app: INestApplication | undefined;
let url: string;
type NewEventLike = Omit<NewEvent, 'metadata'>;
const tokens: Record<'viewer' | 'operator' | 'approver', { token: string; tokenId: string }> = {} as never;

async function createToken(name: string, role: 'viewer' | 'operator' | 'approver'): Promise<{ token: string; tokenId: string }> {
  const token = `abo_${randomBytes(24).toString('base64url')}`;
  const tokenId = randomUUID();
  await t.store.appendToStream(`token-${tokenId}`, [
    { type: 'OperatorTokenCreated', data: { tokenId, name, role, hash: createHash('sha256').update(token).digest('hex') }, metadata: testMetadata({ correlationId: `token-${tokenId}` }) },
  ]);
  return { token, tokenId };
}

async function http(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const get = (path: string, token = tokens.viewer.token) => http('GET', path, token);

/** Appends one incident's story: opened, a sample, a diagnosis, patches P (validated, committed with a PR) and Q (rejected), an LLM call. */
async function healedUpToAPullRequest(service: string): Promise<{ incidentId: string; P: string; Q: string }> {
  const incidentId = randomUUID();
  const P = randomUUID();
  const Q = randomUUID();
  const exception = { type: 'TypeError', value: "Cannot read properties of undefined (reading 'street')" };
  const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  const events: NewEventLike[] = [
    { type: 'IncidentOpened', data: { incidentId, service, fingerprint: randomBytes(8).toString('hex'), exception, release: `${service}@1`, culprit: 'src/orders.ts in ship', firstSeen: new Date().toISOString() } },
    { type: 'ErrorRecorded', data: { exception, frames: [{ filename: 'src/orders.ts', function: 'ship', lineno: 12, inApp: true }], tags: {}, release: `${service}@1`, receivedAt: new Date().toISOString() } },
    { type: 'OccurrencesCounted', data: { bucketStart: new Date().toISOString(), bucketSeconds: 60, count: 7 } },
    { type: 'DiagnosisMade', data: { rootCause: 'address may be missing on a pickup order', location: { file: 'src/orders.ts', line: 12 }, source: 'rule', ruleId: 'undefined-property', confidence: 0.9 } },
    { type: 'LlmCallMetered', data: { model: 'gpt-small', tier: 'small', step: 'patch', promptTokens: 1200, completionTokens: 300, costUsd: 0.0042 } },
    { type: 'PatchProposed', data: { patchId: P, diff: '--- a/src/orders.ts\n+++ b/src/orders.ts\n@@ -12 +12 @@\n-  return order.address.street;\n+  return order.address?.street;\n', files: ['src/orders.ts'], rationale: 'guard', source: 'template', templateId: 'optional-chain', rank: 1, confidence: 0.8 } },
    { type: 'PatchProposed', data: { patchId: Q, diff: '--- a/src/orders.ts\n+++ b/src/orders.ts\n', files: ['src/orders.ts'], rationale: 'default', source: 'template', templateId: 'default-value', rank: 2, confidence: 0.6 } },
    { type: 'PatchValidated', data: { patchId: P, tests: [{ name: 'ships a pickup order', status: 'passed', durationMs: 12, baseline: 'failed' }], reproduction: { status: 'reproduced' } } },
    { type: 'PatchRejected', data: { patchId: Q, reason: 'a test failed', failingTests: ['totals'], stage: 'tests' } },
    { type: 'FixCommitted', data: { patchId: P, branch: `antibody/${incidentId}`, commitSha: 'abc1234', pullRequestUrl: 'https://github.example/shop/pull/7' } },
  ];
  await t.store.appendToStream(`incident-${incidentId}`, events.map((e) => ({ ...e, metadata: testMetadata({ correlationId: incidentId, traceparent }) })));
  return { incidentId, P, Q };
}

/** An incident whose only patch was rejected and which the loop escalated. */
async function escalated(service: string): Promise<{ incidentId: string; P: string }> {
  const incidentId = randomUUID();
  const P = randomUUID();
  const exception = { type: 'RangeError', value: 'Invalid array length' };
  const events: NewEventLike[] = [
    { type: 'IncidentOpened', data: { incidentId, service, fingerprint: randomBytes(8).toString('hex'), exception, firstSeen: new Date().toISOString() } },
    { type: 'ErrorRecorded', data: { exception, frames: [], tags: {}, receivedAt: new Date().toISOString() } },
    { type: 'DiagnosisMade', data: { rootCause: 'negative length', location: { file: 'src/a.ts', line: 3 }, source: 'rule', ruleId: 'r', confidence: 0.7 } },
    { type: 'PatchProposed', data: { patchId: P, diff: 'diff', files: ['src/a.ts'], rationale: 'clamp', source: 'template', templateId: 't', rank: 1, confidence: 0.5 } },
    { type: 'PatchRejected', data: { patchId: P, reason: 'a test failed', failingTests: ['t'], stage: 'tests' } },
    { type: 'IncidentEscalated', data: { reason: 'every candidate rejected', step: 'validation' } },
  ];
  await t.store.appendToStream(`incident-${incidentId}`, events.map((e) => ({ ...e, metadata: testMetadata({ correlationId: incidentId }) })));
  return { incidentId, P };
}

beforeAll(async () => {
  t = await createTestStore('console');
  const port = await freePort();
  const config = loadConfig(baseServiceConfigSchema, { DATABASE_URL: t.databaseUrl, PORT: String(port), ANTIBODY_SCHEMA: t.schema, LOG_LEVEL: 'warn', SERVICE_INSTANCE_ID: `test-${port}` }, 'console');
  app = await createPlatformApp(ConsoleModule.forRoot({ service: 'console', config, nats: null }));
  await app.listen(port, '127.0.0.1');
  url = `http://127.0.0.1:${port}`;
  tokens.viewer = await createToken('vic', 'viewer');
  tokens.operator = await createToken('otto', 'operator');
  tokens.approver = await createToken('ada', 'approver');
  await waitFor(async () => (await get('/v1/services', tokens.approver.token)).status === 200, { description: 'the approver token to be projected' });
});

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

describe('the console API on real Postgres', () => {
  it('lists an incident as the loop moves it, filtered by status and service, in cursor pages', async () => {
    const service = `shop-${randomBytes(3).toString('hex')}`;
    const { incidentId, P } = await healedUpToAPullRequest(service);
    const page = await waitFor(async () => {
      const r = await get(`/v1/incidents?service=${service}`);
      return (r.body['items'] as unknown[]).length === 1 ? r.body : undefined;
    }, { description: 'the incident in the list' });
    expect(page['items']).toEqual([
      expect.objectContaining({ incidentId, service, status: 'proposed-as-pr', chosenPatchId: P, pullRequestUrl: 'https://github.example/shop/pull/7', occurrences: 7, samples: 1, round: 0, costUsd: 0.0042, culprit: 'src/orders.ts in ship', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) }),
    ]);
    expect((page['items'] as Array<Record<string, unknown>>)[0]?.['committedAt']).toEqual(expect.any(String));

    for (let i = 0; i < 4; i++) await healedUpToAPullRequest(service);
    const seen: string[] = [];
    let cursor: string | null = null;
    await waitFor(async () => ((await get(`/v1/incidents?service=${service}&limit=500`)).body['items'] as unknown[]).length === 5, { description: 'five incidents listed' });
    do {
      const r: { body: Record<string, unknown> } = await get(`/v1/incidents?service=${service}&status=proposed-as-pr,escalated&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(r.body['items'] as Array<{ incidentId: string }>).map((x) => x.incidentId));
      cursor = r.body['next'] as string | null;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect((await get(`/v1/incidents?service=${service}&status=resolved`)).body['items']).toEqual([]);
  });

  it('shows one incident whole: diagnosis, every candidate with its diff and verdict, per-test results, costs and the timeline', async () => {
    const { incidentId, P, Q } = await healedUpToAPullRequest(`shop-${randomBytes(3).toString('hex')}`);
    const shown = await waitFor(async () => {
      const r = await get(`/v1/incidents/${incidentId}`);
      return r.status === 200 && r.body['version'] === 9 ? r.body : undefined;
    }, { description: 'the incident detail' });
    expect(shown['rounds']).toEqual([expect.objectContaining({ index: 0, diagnosis: expect.objectContaining({ type: 'DiagnosisMade', rootCause: 'address may be missing on a pickup order' }), chosenPatchId: P })]);
    expect(shown['candidates']).toEqual([
      expect.objectContaining({ patchId: P, rank: 1, diff: expect.stringContaining('order.address?.street'), verdict: expect.objectContaining({ type: 'PatchValidated', tests: [expect.objectContaining({ name: 'ships a pickup order', status: 'passed', baseline: 'failed' })] }), committed: expect.objectContaining({ pullRequestUrl: 'https://github.example/shop/pull/7' }) }),
      expect.objectContaining({ patchId: Q, rank: 2, verdict: expect.objectContaining({ type: 'PatchRejected', reason: 'a test failed', stage: 'tests' }) }),
    ]);
    const timeline = shown['timeline'] as Array<{ type: string; summary: string }>;
    expect(timeline.map((e) => e.type)).toEqual(['IncidentOpened', 'ErrorRecorded', 'DiagnosisMade', 'LlmCallMetered', 'PatchProposed', 'PatchProposed', 'PatchValidated', 'PatchRejected', 'FixCommitted']);
    const costs = await get('/v1/costs?since=1h');
    expect(costs.body['rows']).toEqual(expect.arrayContaining([expect.objectContaining({ model: 'gpt-small', step: 'patch' })]));
  });

  it('refuses what is wrong with a 4xx that says what: no token, a viewer deciding, bad queries and bodies, another incident\'s patch', async () => {
    const service = `shop-${randomBytes(3).toString('hex')}`;
    const a = await healedUpToAPullRequest(service);
    const b = await healedUpToAPullRequest(service);
    await waitFor(async () => (await get(`/v1/incidents/${b.incidentId}`)).status === 200, { description: 'both incidents projected' });

    expect(await http('GET', '/v1/incidents')).toMatchObject({ status: 401, body: { error: 'missing_token', detail: expect.stringContaining('Authorization: Bearer') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.viewer.token, { patchId: a.P })).toMatchObject({
      status: 403,
      body: { error: 'forbidden', detail: 'approve needs a token with role approver or above; token vic is viewer' },
    });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.operator.token, { patchId: a.P })).toMatchObject({ status: 403 });
    expect(await get('/v1/incidents?status=done')).toMatchObject({ status: 400, body: { error: 'invalid_input', detail: expect.stringMatching(/^status: expected one or more of open, .* got "done"$/) } });
    expect(await get('/v1/incidents?limit=0')).toMatchObject({ status: 400, body: { detail: expect.stringContaining('limit: expected an integer from 1 to 500') } });
    expect(await get('/v1/incidents?sort=asc')).toMatchObject({ status: 400, body: { detail: expect.stringContaining('sort: unknown query parameter') } });
    expect(await get('/v1/incidents?cursor=xyz')).toMatchObject({ status: 400, body: { detail: expect.stringContaining('cursor: not a cursor this API gave out') } });
    expect(await get('/v1/incidents/not-a-uuid')).toMatchObject({ status: 400, body: { detail: expect.stringContaining('incident id: expected a uuid') } });
    expect(await get(`/v1/incidents/${randomUUID()}`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, {})).toMatchObject({ status: 400, body: { detail: expect.stringContaining('patchId: required') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, { patchId: 'latest' })).toMatchObject({ status: 400, body: { detail: expect.stringContaining('patchId: expected a patch id') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, { patchId: a.P, by: 'someone else' })).toMatchObject({ status: 400, body: { detail: expect.stringContaining('by: unknown field') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/close`, tokens.operator.token, {})).toMatchObject({ status: 400, body: { detail: expect.stringContaining('reason: required') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, { patchId: b.P })).toMatchObject({
      status: 422,
      body: { error: 'invalid', detail: expect.stringContaining(`patch ${b.P} is not a patch of incident ${a.incidentId}`) },
    });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, { patchId: a.Q })).toMatchObject({ status: 409, body: { error: 'conflict', detail: expect.stringContaining('is not validated (PatchRejected)') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/retry`, tokens.operator.token, { from: 'diagnosis' })).toMatchObject({ status: 409, body: { detail: expect.stringContaining('not escalated') } });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/merge`, tokens.approver.token, {})).toMatchObject({ status: 404, body: { detail: expect.stringContaining('the commands are approve, reject, retry, resolve, close') } });
  });

  it('records an approval with the token\'s identity, and retry and close of an escalated incident move it in the read model', async () => {
    const service = `shop-${randomBytes(3).toString('hex')}`;
    const a = await healedUpToAPullRequest(service);
    const approved = await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, { patchId: a.P, comment: 'diff checked' });
    expect(approved).toMatchObject({ status: 200, body: { incidentId: a.incidentId, command: 'approve', by: { tokenId: tokens.approver.tokenId, name: 'ada', role: 'approver' }, events: [{ type: 'DecisionRecorded', streamVersion: 10 }] } });
    const { events } = await t.store.readStream(`incident-${a.incidentId}`);
    const decision = events[10];
    expect(decision).toMatchObject({ type: 'DecisionRecorded', data: { by: 'ada', decision: 'approve', step: 'rollout', patchId: a.P, comment: 'diff checked' } });
    expect(decision?.metadata).toMatchObject({ producer: { service: 'console' }, actor: { kind: 'operator-token', tokenId: tokens.approver.tokenId, name: 'ada', role: 'approver' }, traceparent: events[0]?.metadata.traceparent });
    expect(await http('POST', `/v1/incidents/${a.incidentId}/approve`, tokens.approver.token, { patchId: a.P })).toMatchObject({ status: 409, body: { detail: `patch ${a.P} was already approved by ada` } });

    const e = await escalated(service);
    const retried = await http('POST', `/v1/incidents/${e.incidentId}/retry`, tokens.operator.token, { from: 'diagnosis', comment: 'flaky CI fixed' });
    expect(retried).toMatchObject({ status: 200, body: { events: [{ type: 'DecisionRecorded' }, { type: 'DiagnosisRequested' }] } });
    await waitFor(async () => ((await get(`/v1/incidents/${e.incidentId}`)).body['status'] === 'diagnosing' ? true : undefined), { description: 'the retried incident diagnosing again' });
    const closed = await http('POST', `/v1/incidents/${e.incidentId}/close`, tokens.operator.token, { reason: 'the endpoint is removed in 2.0' });
    expect(closed).toMatchObject({ status: 200, body: { events: [{ type: 'IncidentClosed' }] } });
    const shown = await waitFor(async () => {
      const r = await get(`/v1/incidents/${e.incidentId}`);
      return r.body['status'] === 'closed' ? r.body : undefined;
    }, { description: 'the incident closed in the read model' });
    expect(shown).toMatchObject({ closure: { by: { name: 'otto', role: 'operator' }, reason: 'the endpoint is removed in 2.0' }, closedAt: expect.any(String), round: 1 });
    expect((shown['timeline'] as Array<{ actor: string | null }>).filter((x) => x.actor !== null).map((x) => x.actor)).toEqual(['otto', 'otto']);
  });

  it('refuses a revoked token', async () => {
    const { token, tokenId } = await createToken('mallory', 'admin');
    await waitFor(async () => (await get('/v1/services', token)).status === 200, { description: 'the token projected' });
    await t.store.appendToStream(`token-${tokenId}`, [{ type: 'OperatorTokenRevoked', data: { tokenId, reason: 'left' } }].map((e) => ({ ...e, metadata: testMetadata() })));
    const refused = await waitFor(async () => {
      const r = await get('/v1/services', token);
      return r.status === 401 ? r : undefined;
    }, { description: 'the revoked token refused' });
    expect(refused.body).toMatchObject({ error: 'revoked_token', detail: expect.stringContaining('operator token mallory was revoked') });
  });

  it('the projection rebuilt from position 0 equals the live one', async () => {
    const service = `shop-${randomBytes(3).toString('hex')}`;
    await healedUpToAPullRequest(service);
    await escalated(service);
    const rebuilder = new ConsoleReadModels(t.store);
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      for (const table of READ_MODEL_TABLES) out[table] = (await t.pool.query(`SELECT * FROM "${t.schema}".${table} ORDER BY 1, 2`)).rows;
      return out;
    };
    // The live rows, caught up with everything appended so far (the app's own projection).
    const head = await t.store.headCheckpoint();
    await waitFor(async () => {
      const { rows } = await t.pool.query(`SELECT transaction_id, global_position FROM "${t.schema}".checkpoints WHERE name = 'console-read-models'`);
      return rows[0] && BigInt(rows[0].global_position) >= BigInt(head.position) ? true : undefined;
    }, { description: 'the live projection caught up' });
    const live = await snapshot();
    expect((live['console_incidents'] as unknown[]).length).toBeGreaterThan(5);
    // Stop the app's projection, empty the tables and move the checkpoint to 0; then rebuild.
    await app?.close();
    app = undefined;
    await rebuilder.rebuild();
    expect(((await snapshot())['console_incidents'] as unknown[]).length).toBe(0);
    rebuilder.start();
    await rebuilder.caughtUp(60_000);
    await rebuilder.stop();
    expect(await snapshot()).toEqual(live);
  });
});
