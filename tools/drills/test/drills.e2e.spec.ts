// A small failure drill (tools/drills/src/drill.ts; `npm run bench -- drills` runs the large one):
// five incidents of the demo's sample application through the five services as real processes, on
// a private Postgres and a private NATS, while each service is SIGKILLed once (with work of its
// kind in flight), NATS is killed and restarted and Postgres stopped and started. Afterwards, from
// the event store and what the outside world received: no accepted report lost, nothing doubled
// (events or effects: commits, canary starts, notices), no incident stuck, every hash chain intact,
// and every incident ended where the same bug ends without faults: healed (the pickup order),
// escalated at validation (the day-first date: the only template's guard turns the RangeError into
// another error, which the reproduction gate refuses as no fix), or escalated at the patch step
// (the empty cart, which only a model could fix).
import { join } from 'node:path';
import { ALL_FAULTS, runDrill, type DrillResult } from '../src/drill';

const ROOT = join(__dirname, '..', '..', '..');
jest.setTimeout(900_000);

const lines: string[] = [];
let result: DrillResult;

beforeAll(async () => {
  result = await runDrill({ root: ROOT, incidents: 5, faults: ALL_FAULTS, settleMs: 420_000, reportConcurrency: 1, log: (line) => lines.push(line) });
});

it('injects every fault while work of its kind is in flight, and the loop recovers from each', () => {
  expect(result.faults.map((f) => f.fault)).toEqual(['kill ingest', 'kill analyzer', 'kill patcher', 'kill validator', 'kill deployer', 'restart-nats', 'restart-postgres']);
  for (const f of result.faults) expect({ fault: f.fault, recovered: f.recoveredMs !== undefined }).toEqual({ fault: f.fault, recovered: true });
});

it('loses, doubles and leaves stuck nothing; every chain verifies', () => {
  const found = { lost: result.check.lost, doubled: result.check.doubled, stuck: result.check.stuck, refused: result.reportsRefused };
  if (found.lost.length + found.doubled.length + found.stuck.length + found.refused > 0) process.stderr.write(`${lines.join('\n')}\n`);
  expect(found).toEqual({ lost: [], doubled: [], stuck: [], refused: 0 });
  expect(result.reportsAccepted).toBe(5);
  expect(result.verifyExitCode).toBe(0);
});

it('ends every incident where its bug ends without faults', () => {
  expect([...result.check.endStates.values()]).toEqual(['healed', 'stopped: escalated at validation', 'stopped: escalated at patch', 'healed', 'stopped: escalated at validation']);
});
