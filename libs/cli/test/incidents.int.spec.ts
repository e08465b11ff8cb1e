import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { NewEvent } from '@antibody/event-store';
import { createTestStore, freePort, startProcess, testMetadata, waitFor, type TestProcess, type TestStore } from '@antibody/testing';
import { runCli } from '../src';

// `antibody incidents list|show|approve|close` against the console run as a real process
// (services/console/dist, built here) on a real Postgres schema: a small incident stream is
// appended, the console projects it, and the CLI reads and decides through the console's API.

const ROOT = join(__dirname, '..', '..', '..');
let db: TestStore;
let consoleProcess: TestProcess | undefined;
let consoleUrl: string;
const tokens: Record<'viewer' | 'approver' | 'operator', string> = { viewer: '', approver: '', operator: '' };

async function cli(argv: string[], token = tokens.viewer): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { DATABASE_URL: db.databaseUrl, ANTIBODY_SCHEMA: db.schema, ANTIBODY_CONSOLE_URL: consoleUrl, ANTIBODY_TOKEN: token },
  });
  return { exitCode, stdout, stderr };
}

async function createToken(name: string, role: string): Promise<string> {
  const created = await cli(['tokens', 'create', '--name', name, '--role', role, '--json']);
  expect(created.exitCode).toBe(0);
  return (JSON.parse(created.stdout) as { token: string }).token;
}

/** Opened, a sample (7 occurrences) with its call reproduced, a diagnosis, patch P validated and committed with a PR, patch Q rejected at tests. */
async function healedUpToAPullRequest(service: string, incidentId = randomUUID()): Promise<{ incidentId: string; P: string; Q: string; traceId: string }> {
  const P = randomUUID();
  const Q = randomUUID();
  const exception = { type: 'TypeError', value: "Cannot read properties of undefined (reading 'street')" };
  const traceId = randomBytes(16).toString('hex');
  const reproduction = {
    status: 'reproduced',
    testFile: 'test/antibody-repro.test.ts',
    call: { module: 'src/orders.ts', export: 'ship', input: 'call', baseline: { outcome: 'threw', type: 'TypeError', message: "Cannot read properties of undefined (reading 'street')", frame: 'src/orders.ts:12 in ship' }, patched: { outcome: 'returned' } },
  };
  const events: Array<Omit<NewEvent, 'metadata'>> = [
    { type: 'IncidentOpened', data: { incidentId, service, fingerprint: randomBytes(8).toString('hex'), exception, release: `${service}@1`, culprit: 'src/orders.ts in ship', firstSeen: new Date().toISOString() } },
    { type: 'ErrorRecorded', data: { exception, frames: [{ filename: 'src/orders.ts', function: 'ship', lineno: 12, inApp: true }], tags: {}, release: `${service}@1`, receivedAt: new Date().toISOString() } },
    { type: 'OccurrencesCounted', data: { bucketStart: new Date().toISOString(), bucketSeconds: 60, count: 7 } },
    { type: 'DiagnosisMade', data: { rootCause: 'address may be missing on a pickup order', location: { file: 'src/orders.ts', line: 12 }, source: 'rule', ruleId: 'undefined-property', confidence: 0.9 } },
    { type: 'LlmCallMetered', data: { model: 'gpt-small', tier: 'small', step: 'patch', promptTokens: 1200, completionTokens: 300, costUsd: 0.0042 } },
    { type: 'PatchProposed', data: { patchId: P, diff: '--- a/src/orders.ts\n+++ b/src/orders.ts\n@@ -12 +12 @@\n-  return order.address.street;\n+  return order.address?.street;\n', files: ['src/orders.ts'], rationale: 'guard the optional address', source: 'template', templateId: 'optional-chain', rank: 1, confidence: 0.8 } },
    { type: 'PatchProposed', data: { patchId: Q, diff: '--- a/src/orders.ts\n+++ b/src/orders.ts\n', files: ['src/orders.ts'], rationale: 'default', source: 'template', templateId: 'default-value', rank: 2, confidence: 0.6 } },
    { type: 'PatchValidated', data: { patchId: P, tests: [{ name: 'ships a pickup order', status: 'passed', durationMs: 12, baseline: 'failed' }], reproduction } },
    { type: 'PatchRejected', data: { patchId: Q, reason: 'a test failed', failingTests: ['totals'], stage: 'tests' } },
    { type: 'FixCommitted', data: { patchId: P, branch: `antibody/${incidentId}`, commitSha: 'abc1234', pullRequestUrl: 'https://github.example/shop/pull/7' } },
  ];
  await db.store.appendToStream(
    `incident-${incidentId}`,
    events.map((e) => ({ ...e, metadata: testMetadata({ correlationId: incidentId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }) })),
  );
  return { incidentId, P, Q, traceId };
}

beforeAll(async () => {
  db = await createTestStore('cli_incidents');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'services/console/tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}`;
  consoleProcess = startProcess(join(ROOT, 'services/console/dist/main.js'), { DATABASE_URL: db.databaseUrl, ANTIBODY_SCHEMA: db.schema, PORT: String(port), LOG_LEVEL: 'warn', SERVICE_INSTANCE_ID: `cli-test-${port}` });
  tokens.viewer = await createToken('vic', 'viewer');
  tokens.approver = await createToken('ada', 'approver');
  tokens.operator = await createToken('otto', 'operator');
  await waitFor(async () => ((await cli(['incidents', 'list'], tokens.operator)).exitCode === 0 ? true : undefined), {
    description: `the console listening with the tokens projected (${consoleProcess?.stderr().slice(-400)})`,
    timeoutMs: 60_000,
  });
}, 120_000);

afterAll(async () => {
  consoleProcess?.stop();
  await consoleProcess?.exited;
  await db?.cleanup();
});

describe('antibody incidents, through the console', () => {
  it('lists incidents with filters, as a table and as JSON', async () => {
    const service = `shop-${randomBytes(3).toString('hex')}`;
    const { incidentId } = await healedUpToAPullRequest(service);
    const listed = await waitFor(async () => {
      const r = await cli(['incidents', 'list', '--service', service]);
      return r.stdout.includes(incidentId.slice(0, 8)) ? r : undefined;
    }, { description: 'the incident listed' });
    expect(listed.exitCode).toBe(0);
    const [header, row, ...rest] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+STATUS\s+SERVICE\s+SEEN\s+LAST SEEN\s+COST\s+TITLE$/);
    expect(row).toMatch(new RegExp(`^${incidentId.slice(0, 8)}\\s+proposed-as-pr\\s+${service}\\s+7\\s+\\S+Z\\s+\\$0\\.0042\\s+TypeError: Cannot read`));
    expect(rest).toEqual([]);

    const json = await cli(['incidents', 'list', '--service', service, '--status', 'proposed-as-pr,escalated', '--since', '1h', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ incidentId, service, status: 'proposed-as-pr' })]);
    expect((await cli(['incidents', 'list', '--service', service, '--status', 'resolved'])).stdout).toBe('no incidents\n');
    const bad = await cli(['incidents', 'list', '--status', 'done']);
    expect(bad).toMatchObject({ exitCode: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^antibody: status: expected one or more of open, .* got "done"\n$/);
  });

  it('shows the whole story by a short id, and takes back every id it prints', async () => {
    const { incidentId, P, Q, traceId } = await healedUpToAPullRequest(`shop-${randomBytes(3).toString('hex')}`);
    const shown = await waitFor(async () => {
      const r = await cli(['incidents', 'show', incidentId.slice(0, 8)]);
      return r.exitCode === 0 && r.stdout.includes('Timeline') && r.stdout.includes('committed') ? r : undefined;
    }, { description: 'the incident shown' });
    const text = shown.stdout;
    expect(text).toContain(`incident ${incidentId}  proposed-as-pr`);
    expect(text).toContain("TypeError: Cannot read properties of undefined (reading 'street') at src/orders.ts in ship");
    expect(text).toContain(`cost $0.0042 · trace ${traceId}`);
    expect(text).toContain(`fix: patch ${P.slice(0, 8)} committed abc1234 on antibody/${incidentId} · https://github.example/shop/pull/7`);
    expect(text).toContain('at ship (src/orders.ts:12)');
    expect(text).toContain('address may be missing on a pickup order');
    expect(text).toContain('at src/orders.ts:12 · by rule undefined-property (90%)');
    expect(text).toContain(`Patch ${P.slice(0, 8)}  round 0, rank 1 · template optional-chain (80%) · src/orders.ts  [chosen]`);
    expect(text).toContain('    +  return order.address?.street;');
    expect(text).toContain('verdict: validated — 1 test: 1 passed, 0 failed, 1 failing on the baseline now pass');
    expect(text).toContain('call: src/orders.ts#ship with the call\'s arguments');
    expect(text).toContain("baseline: threw TypeError: Cannot read properties of undefined (reading 'street') at src/orders.ts:12 in ship");
    expect(text).toContain('patched:  returned');
    expect(text).toContain(`Patch ${Q.slice(0, 8)}`);
    expect(text).toContain('verdict: rejected at tests: a test failed (failing: totals)');
    expect(text).toMatch(/Rollout\n {2}none/);
    expect(text).not.toContain('\u001b['); // not a terminal: no colour

    expect((await cli(['incidents', 'show', incidentId.toUpperCase()])).stdout).toBe(text);
    const json = await cli(['incidents', 'show', incidentId.slice(0, 8), '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ incidentId, chosenPatchId: P });
  });

  it('answers an unknown, ambiguous or malformed id with exit 2 and one line', async () => {
    const unknown = await cli(['incidents', 'show', 'ffffffff9']);
    expect(unknown).toEqual({ exitCode: 2, stdout: '', stderr: 'antibody: no incident whose id starts with "ffffffff9"\n' });
    const missing = randomUUID();
    const notThere = await cli(['incidents', 'show', missing]);
    expect(notThere.exitCode).toBe(2);
    expect(notThere.stderr.split('\n')).toHaveLength(2);
    expect(notThere.stderr).toContain(missing);
    expect(await cli(['incidents', 'show', 'not-an-id'])).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/^antibody: "not-an-id" is not an incident id/) });

    // Two incidents sharing their first characters.
    const service = `shop-${randomBytes(3).toString('hex')}`;
    const prefix = randomBytes(4).toString('hex');
    const a = await healedUpToAPullRequest(service, `${prefix}-${randomUUID().slice(9)}`);
    const b = await healedUpToAPullRequest(service, `${prefix}-${randomUUID().slice(9)}`);
    await waitFor(async () => ((await cli(['incidents', 'list', '--service', service, '--json'])).stdout.includes(b.incidentId) ? true : undefined), { description: 'both listed' });
    const ambiguous = await cli(['incidents', 'show', prefix]);
    expect(ambiguous).toMatchObject({ exitCode: 2, stdout: '' });
    expect(ambiguous.stderr).toMatch(new RegExp(`^antibody: "${prefix}" is ambiguous: it starts 2 incident ids \\(.*\\); give more characters\\n$`));
    expect((await cli(['incidents', 'show', a.incidentId.slice(0, 14)])).exitCode).toBe(0);
  });

  it('approves by a short patch id with an approver token, refuses a viewer with the 403, and closes', async () => {
    const service = `shop-${randomBytes(3).toString('hex')}`;
    const { incidentId, P } = await healedUpToAPullRequest(service);
    await waitFor(async () => ((await cli(['incidents', 'show', incidentId])).stdout.includes('committed abc1234') ? true : undefined), { description: 'the incident projected' });

    const refused = await cli(['incidents', 'approve', incidentId.slice(0, 8), '--patch', P.slice(0, 8)], tokens.viewer);
    expect(refused).toEqual({ exitCode: 1, stdout: '', stderr: 'antibody: refused by the console (403): approve needs a token with role approver or above; token vic is viewer\n' });
    const noPatch = await cli(['incidents', 'approve', incidentId.slice(0, 8), '--patch', 'eeeeeeee'], tokens.approver);
    expect(noPatch).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/^antibody: --patch: no patch of incident \w{8} starts with "eeeeeeee"/) });

    const approved = await cli(['incidents', 'approve', incidentId.slice(0, 8), '--patch', P.slice(0, 8), '--comment', 'diff checked'], tokens.approver);
    expect(approved).toEqual({ exitCode: 0, stdout: `approve of incident ${incidentId.slice(0, 8)} recorded by ada (approver): DecisionRecorded #10\n`, stderr: '' });
    const { events } = await db.store.readStream(`incident-${incidentId}`);
    expect(events[10]).toMatchObject({ type: 'DecisionRecorded', data: { by: 'ada', decision: 'approve', patchId: P, comment: 'diff checked' } });

    const again = await cli(['incidents', 'approve', incidentId, '--patch', P], tokens.approver);
    expect(again).toMatchObject({ exitCode: 1, stderr: `antibody: patch ${P} was already approved by ada\n` });

    const closed = await cli(['incidents', 'close', incidentId.slice(0, 8), '--reason', 'the endpoint is removed in 2.0'], tokens.operator);
    expect(closed).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('IncidentClosed') });
    const shown = await waitFor(async () => {
      const r = await cli(['incidents', 'show', incidentId.slice(0, 8)]);
      return r.stdout.includes('Closed: ') ? r.stdout : undefined;
    }, { description: 'the incident closed' });
    expect(shown).toContain('Closed: the endpoint is removed in 2.0 (otto)');
    expect(shown).toContain('ada: approve rollout of patch');
  });
});
