import { randomUUID } from 'node:crypto';
import { createTestStore, testMetadata, type TestStore } from '@antibody/testing';
import { runCli } from '../src';

let db: TestStore;
beforeAll(async () => {
  db = await createTestStore('cli_decide');
});
afterAll(async () => {
  await db.cleanup();
});

async function cli(...argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli([...argv, '--schema', db.schema], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { DATABASE_URL: db.databaseUrl, ANTIBODY_USER: 'ada@example.com' },
  });
  return { exitCode, stdout, stderr };
}

async function incidentWithValidatedPatch(): Promise<{ id: string; patchId: string }> {
  const id = randomUUID();
  const patchId = randomUUID();
  await db.store.appendToStream(`incident-${id}`, [
    { type: 'IncidentOpened', data: { incidentId: id, service: 'shop', fingerprint: 'f1', exception: { type: 'TypeError', value: 'x' }, firstSeen: new Date().toISOString() }, metadata: testMetadata({ correlationId: id }) },
    { type: 'PatchValidated', data: { patchId, tests: [{ name: 't', status: 'passed', durationMs: 3 }], reproduction: { status: 'reproduced' } }, metadata: testMetadata({ correlationId: id }) },
  ]);
  return { id, patchId };
}

describe('antibody approve | reject', () => {
  it('records an approval of the latest validated patch as DecisionRecorded', async () => {
    const { id, patchId } = await incidentWithValidatedPatch();
    const run = await cli('approve', id, '--comment', 'looks right');
    expect(run).toMatchObject({ exitCode: 0, stderr: '' });
    expect(run.stdout).toContain(`ada@example.com approved patch ${patchId}`);
    const { events } = await db.store.readStream(`incident-${id}`);
    expect(events.at(-1)).toMatchObject({ type: 'DecisionRecorded', data: { by: 'ada@example.com', decision: 'approve', step: 'rollout', patchId, comment: 'looks right' } });
    expect(events.at(-1)?.metadata.producer.service).toBe('cli');
  });

  it('records a rejection', async () => {
    const { id } = await incidentWithValidatedPatch();
    expect((await cli('reject', id, '--by', 'bob')).exitCode).toBe(0);
    const { events } = await db.store.readStream(`incident-${id}`);
    expect(events.at(-1)?.data).toMatchObject({ decision: 'reject', by: 'bob' });
  });

  it('answers bad input with exit 2 and one line', async () => {
    const notUuid = await cli('approve', 'nope');
    expect(notUuid.exitCode).toBe(2);
    expect(notUuid.stderr).toMatch(/^antibody: incident id must be a uuid/);
    const missing = await cli('reject', randomUUID());
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^antibody: no incident/);
    const id = randomUUID();
    await db.store.appendToStream(`incident-${id}`, [{ type: 'IncidentOpened', data: { incidentId: id, service: 'shop', fingerprint: 'f', exception: { type: 'E', value: '' }, firstSeen: new Date().toISOString() }, metadata: testMetadata({ correlationId: id }) }]);
    const noPatch = await cli('approve', id);
    expect(noPatch.exitCode).toBe(2);
    expect(noPatch.stderr).toContain('has no validated patch');
  });
});
