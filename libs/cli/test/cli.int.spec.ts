import { randomUUID } from 'node:crypto';
import type { NewEvent, StoredEvent } from '@antibody/event-store';
import { createTestStore, testMetadata, uniqueName, waitFor, type TestStore } from '@antibody/testing';
import { runCli } from '../src';

// The CLI in-process against a real Postgres schema of its own.

let db: TestStore;
beforeAll(async () => {
  db = await createTestStore('cli');
});
afterAll(async () => {
  await db.cleanup();
});

interface Run {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the CLI; `stdout`/`stderr` can be read while it runs. */
function start(
  argv: string[],
  { signal, target = db }: { signal?: AbortSignal; target?: Pick<TestStore, 'schema' | 'databaseUrl'> } = {},
): { done: Promise<Run>; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const done = runCli([...argv, '--schema', target.schema], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { DATABASE_URL: target.databaseUrl },
    signal,
  }).then((exitCode) => ({ exitCode, stdout, stderr }));
  return { done, stdout: () => stdout, stderr: () => stderr };
}

function cli(...argv: string[]): Promise<Run> {
  return start(argv).done;
}

function incident(): { id: string; streamId: string; events: NewEvent[] } {
  const id = randomUUID();
  const opened = randomUUID();
  const patchId = randomUUID();
  const metadata = testMetadata({ correlationId: id, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  return {
    id,
    streamId: `incident-${id}`,
    events: [
      {
        eventId: opened,
        type: 'IncidentOpened',
        data: {
          incidentId: id,
          service: 'checkout',
          fingerprint: 'a3f1c9e0b7d64e21',
          exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'price')" },
          firstSeen: new Date().toISOString(),
        },
        metadata: { ...metadata, producer: { service: 'ingest', instance: 'ingest-1' } },
      },
      {
        type: 'DiagnosisMade',
        data: { rootCause: 'item may be undefined', location: { file: 'src/cart.ts', line: 12 }, source: 'rule', ruleId: 'undefined-property', confidence: 0.9 },
        metadata: { ...metadata, causationId: opened, producer: { service: 'analyzer', instance: 'analyzer-1' } },
      },
      {
        type: 'IncidentEscalated',
        data: { reason: 'no template fits', step: 'patch' },
        metadata: { ...metadata, causationId: opened, producer: { service: 'patcher', instance: 'patcher-1' } },
      },
      {
        type: 'IncidentResolved',
        data: { resolution: 'manual', patchId },
        metadata: { ...metadata, causationId: opened },
      },
    ],
  };
}

async function appendIncident(): Promise<{ streamId: string; eventIds: string[] }> {
  const { streamId, events } = incident();
  await db.store.appendToStream(streamId, events, { expectedVersion: 'no-stream' });
  const { events: stored } = await db.store.readStream(streamId);
  return { streamId, eventIds: stored.map((event) => event.eventId) };
}

async function tamper(streamId: string, version: number): Promise<void> {
  const events = `"${db.schema}".events`;
  await db.pool.query(`ALTER TABLE ${events} DISABLE TRIGGER events_are_immutable`);
  try {
    await db.pool.query(`UPDATE ${events} SET data = jsonb_set(data, '{reason}', '"edited later"') WHERE stream_id = $1 AND stream_version = $2`, [
      streamId,
      version,
    ]);
  } finally {
    await db.pool.query(`ALTER TABLE ${events} ENABLE TRIGGER events_are_immutable`);
  }
}

describe('antibody replay', () => {
  it('prints a header and one timeline line per event', async () => {
    const { streamId, eventIds } = await appendIncident();
    const run = await cli('replay', streamId);
    expect(run).toMatchObject({ exitCode: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`stream ${streamId}: 4 events, correlation ${streamId.slice('incident-'.length)}, trace 0af7651916cd43dd8448eb211c80319c`);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}#0 +IncidentOpened +ingest\/ingest-1 +— +TypeError: Cannot read .* \(checkout, fp a3f1c9e0\)$/);
    expect(lines[2]).toMatch(new RegExp(`#1 +DiagnosisMade +analyzer/analyzer-1 +<- ${eventIds[0]?.slice(0, 8)} `));
    expect(lines[2]).toContain('item may be undefined @ src/cart.ts:12 (rule undefined-property, confidence 0.9)');
    expect(lines[3]).toContain('patch: no template fits');
  });

  it('prints the full envelopes as JSON, up to --to-version', async () => {
    const { streamId, eventIds } = await appendIncident();
    const run = await cli('replay', streamId, '--json', '--to-version', '1');
    expect(run.exitCode).toBe(0);
    const events = JSON.parse(run.stdout) as StoredEvent[];
    expect(events.map((event) => event.eventId)).toEqual(eventIds.slice(0, 2));
    expect(events[0]).toMatchObject({ streamId, streamVersion: 0, type: 'IncidentOpened', metadata: { producer: { service: 'ingest' } } });
    expect(events[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exits 2 with one line for an unknown stream', async () => {
    const run = await cli('replay', 'incident-nope');
    expect(run).toEqual({ exitCode: 2, stdout: '', stderr: 'antibody: stream "incident-nope" does not exist\n' });
  });

  it('exits 2 for a bad --to-version', async () => {
    const run = await cli('replay', 'incident-x', '--to-version', '-1');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^antibody: .*--to-version.*\n$/);
  });
});

describe('antibody verify', () => {
  it('reports an intact chain', async () => {
    const { streamId } = await appendIncident();
    expect(await cli('verify', streamId)).toEqual({ exitCode: 0, stdout: `ok: ${streamId} (4 events, chain intact)\n`, stderr: '' });
  });

  it('names the stream, version and event where a tampered chain breaks, and exits 1', async () => {
    const { streamId, eventIds } = await appendIncident();
    await tamper(streamId, 2);
    const run = await cli('verify', streamId);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^BROKEN: ${streamId} at version 2 \\(event ${eventIds[2]}\\): content-altered — stored hash .+\\n$`));

    const json = await cli('verify', streamId, '--json');
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ streamId, ok: false, eventsChecked: 2, breach: { streamVersion: 2, reason: 'content-altered' } });
  });

  it('verifies every stream with --all', async () => {
    const own = await createTestStore('cli_all');
    try {
      const { streamId, events } = incident();
      await own.store.appendToStream(streamId, events, { expectedVersion: 'no-stream' });
      await own.store.appendToStream(`${streamId}-2`, events.slice(0, 2).map((event) => ({ ...event, eventId: undefined })), {
        expectedVersion: 'no-stream',
      });
      const argv = (...args: string[]) => start(args, { target: own }).done;
      expect(await argv('verify', '--all')).toEqual({ exitCode: 0, stdout: 'ok: 2 streams, 6 events, all chains intact\n', stderr: '' });
      expect(JSON.parse((await argv('verify', '--all', '--json')).stdout)).toEqual({ ok: true, streams: 2, events: 6, breaches: [] });
    } finally {
      await own.cleanup();
    }
    // The shared schema holds the tampered stream from the test above.
    const run = await cli('verify', '--all');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^BROKEN: incident-\S+ at version 2 \(event \S+\): content-altered — /m);
    expect(run.stdout).toMatch(/^1 of \d+ streams broken \(\d+ events scanned\)$/m);
  });

  it('exits 2 with one line for an unknown stream', async () => {
    expect(await cli('verify', 'incident-nope')).toEqual({ exitCode: 2, stdout: '', stderr: 'antibody: stream "incident-nope" does not exist\n' });
  });
});

describe('antibody tail', () => {
  it('prints events appended after it started, and stops after --limit', async () => {
    const before = await appendIncident();
    const tail = start(['tail', '--limit', '5']);
    await waitFor(() => tail.stderr().includes('following events after position'), { timeoutMs: 10_000, description: 'tail to start' });
    const first = await appendIncident();
    const second = await appendIncident();
    const run = await tail.done;
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(run.stdout).not.toContain(before.streamId);
    expect(lines.slice(0, 4).every((line) => line.includes(`  ${first.streamId}  #`))).toBe(true);
    expect(lines[4]).toContain(`  ${second.streamId}  #0    IncidentOpened`);
  });

  it('filters by type and stream prefix, and prints JSON lines', async () => {
    const prefix = `incident-${uniqueName('p')}`;
    const tail = start(['tail', '--type', 'IncidentResolved', '--type', 'IncidentEscalated', '--stream-prefix', 'incident-', '--json', '--limit', '2']);
    await waitFor(() => tail.stderr().includes('following events'), { timeoutMs: 10_000, description: 'tail to start' });
    await db.store.appendToStream(`other-${prefix}`, [{ type: 'IncidentEscalated', data: { reason: 'elsewhere', step: 'patch' }, metadata: testMetadata() }], {
      expectedVersion: 'no-stream',
    });
    const { streamId } = await appendIncident();
    const run = await tail.done;
    expect(run.exitCode).toBe(0);
    const events = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as StoredEvent);
    expect(events.map((event) => [event.streamId, event.type])).toEqual([
      [streamId, 'IncidentEscalated'],
      [streamId, 'IncidentResolved'],
    ]);
  });

  it('replays the log from position 0 with --from-start and stops cleanly on abort', async () => {
    const controller = new AbortController();
    const tail = start(['tail', '--from-start', '--category', 'incident'], { signal: controller.signal });
    await waitFor(() => tail.stdout().split('\n').length > 4, { timeoutMs: 10_000, description: 'tail to print the existing events' });
    controller.abort();
    const run = await tail.done;
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/ incident-\S+ {2}#0 +IncidentOpened /);
  });
});
