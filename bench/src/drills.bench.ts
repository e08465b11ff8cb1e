// `npm run bench -- drills`: the failure drill (tools/drills) at full size. DRILL_INCIDENTS incidents
// (default 50) of the demo's sample application through the five services as processes, on a
// private Postgres and NATS: first a baseline run without faults, then the same incidents while each
// service is SIGKILLed once, NATS killed and restarted, Postgres stopped and started — each once
// work it can hurt is in flight. Figures: lost, doubled, stuck (goals 0), end states that differ
// from the baseline's, the time to recover after each fault, and the time incidents took to end in
// both runs. DRILL_BASELINE_INCIDENTS sizes the baseline (default the same), DRILL_SETTLE_S how long
// incidents may take to end after the last fault (default 900), DRILL_SEED the fault delays.
import { join } from 'node:path';
import { ALL_FAULTS, runDrill, type DrillResult } from '../../tools/drills/dist/drill';
import { median, report } from './harness';

function summary(r: DrillResult) {
  return {
    incidents: r.incidents,
    reportsAccepted: r.reportsAccepted,
    reportsRefused: r.reportsRefused,
    durationS: r.durationMs / 1000,
    endStates: Object.fromEntries(r.check.endStates),
    lost: r.check.lost,
    doubled: r.check.doubled,
    stuck: r.check.stuck,
    faults: r.faults,
    verifyExitCode: r.verifyExitCode,
  };
}

export async function main(): Promise<void> {
  const root = join(__dirname, '..', '..');
  const incidents = Number(process.env.DRILL_INCIDENTS ?? 50);
  const baselineIncidents = Number(process.env.DRILL_BASELINE_INCIDENTS ?? incidents);
  const settleMs = Number(process.env.DRILL_SETTLE_S ?? 900) * 1000;
  const seed = Number(process.env.DRILL_SEED ?? 1);
  const log = (line: string) => process.stdout.write(`${line}\n`);

  log(`baseline: ${baselineIncidents} incidents, no faults`);
  const baseline = await runDrill({ root, incidents: baselineIncidents, faults: [], settleMs, log });
  log(`drill: ${incidents} incidents, faults: ${ALL_FAULTS.map((f) => (f.kind === 'kill' ? `kill ${f.service}` : f.kind)).join(', ')}`);
  const drill = await runDrill({ root, incidents, faults: ALL_FAULTS, settleMs, seed, log });

  // The same service name carries the same bug in both runs (the bugs cycle in the same order).
  const differs = [...drill.check.endStates].filter(([service, state]) => baseline.check.endStates.has(service) && baseline.check.endStates.get(service) !== state);
  const kills = drill.faults.filter((f) => f.fault.startsWith('kill '));
  const recovered = (faults: typeof drill.faults) => faults.map((f) => f.recoveredMs).filter((v): v is number => v !== undefined).map((ms) => ms / 1000);
  const restart = (name: string) => drill.faults.find((f) => f.fault === name)?.recoveredMs;
  const s = (ms: number | undefined) => (ms === undefined ? Number.NaN : ms / 1000);
  const endS = (r: DrillResult) => median(r.timeToEndMs.map((ms) => ms / 1000));
  report(
    'drills',
    {
      incidents: { value: drill.incidents, unit: 'incidents', note: `${drill.reportsAccepted} reports accepted by ingest, ${drill.reportsRefused} refused` },
      kills: { value: kills.length, unit: 'SIGKILLs', note: 'each service once, plus one NATS kill-and-restart and one Postgres stop-and-start' },
      lost: { value: drill.check.lost.length, unit: 'reports/incidents', goal: '0' },
      doubled: { value: drill.check.doubled.length, unit: 'findings', goal: '0', note: 'events twice (incident, ErrorRecorded, diagnosis, proposal, verdict, commit, rollout, stage, end) and effects twice (fix commits, canary starts, notices)' },
      stuck: { value: drill.check.stuck.length, unit: 'incidents', goal: '0', note: `not ended within ${settleMs / 1000} s of the last fault` },
      end_state_differs: { value: differs.length, unit: 'incidents', goal: '0', note: 'end state other than the baseline run\'s for the same service and bug' },
      recover_after_kill_median_s: { value: median(recovered(kills)), unit: 's', note: `kill -> the killed service's next event; each: ${kills.map((f) => `${f.fault.slice(5)} ${s(f.recoveredMs).toFixed(1)}`).join(', ')}` },
      ready_after_kill_median_s: { value: median(kills.map((f) => s(f.readyMs))), unit: 's', note: 'kill -> the restarted process answers /health/ready (1 s restart delay included)' },
      recover_after_nats_restart_s: { value: s(restart('restart-nats')), unit: 's', note: 'the first event recorded after the kill of nats-server that got a reaction: how long it waited for it' },
      recover_after_postgres_restart_s: { value: s(restart('restart-postgres')), unit: 's', note: 'the first event recorded after Postgres stopped that got a reaction: how long it waited for it' },
      time_to_end_median_s: { value: endS(drill), unit: 's', note: 'IncidentOpened -> the event that ended the incident, drill run' },
      baseline_time_to_end_median_s: { value: endS(baseline), unit: 's', note: `same, baseline run without faults (${baseline.incidents} incidents)` },
      time_to_end_ratio: { value: endS(drill) / endS(baseline), unit: 'x' },
      duration_s: { value: drill.durationMs / 1000, unit: 's', note: `first report -> every incident ended; baseline ${(baseline.durationMs / 1000).toFixed(0)} s` },
      verify_exit_code: { value: drill.verifyExitCode, unit: '', goal: '0', note: 'antibody verify --all on the drill\'s store' },
    },
    { seed, settleMs, baseline: summary(baseline), drill: summary(drill), endStateDiffers: differs },
  );
}
