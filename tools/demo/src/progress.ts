// What an incident's stream says about the healing loop: one progress line per step reached, and
// whether the loop is still running, healed, or stopped (and where, and why). Pure: the demo and
// the end-to-end spec feed it the events they read from the store.

/** The part of a stored event the progress view reads. */
export interface ProgressEvent {
  readonly type: string;
  readonly data: unknown;
  readonly streamVersion: number;
}

/** Where the incident stands. */
export type LoopOutcome =
  | { readonly status: 'running'; readonly waitingFor: string }
  | { readonly status: 'healed'; readonly patchId: string; readonly release: string }
  | { readonly status: 'stopped'; readonly stage: string; readonly reason: string };

/** One line of the progress display, keyed by the stream version that produced it. */
export interface ProgressLine {
  readonly version: number;
  readonly text: string;
}

type Json = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const firstLine = (s: string, max = 140): string => {
  const line = s.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** The progress lines of an incident stream, in stream order (one per step reached). */
export function progressLines(events: readonly ProgressEvent[]): ProgressLine[] {
  const lines: ProgressLine[] = [];
  const push = (e: ProgressEvent, text: string) => lines.push({ version: e.streamVersion, text });
  let samples = 0;
  // A rollback sends the incident back to diagnosis: each DiagnosisRequested starts the next round.
  let round = 1;
  for (const e of events) {
    const d = (e.data ?? {}) as Json;
    switch (e.type) {
      case 'IncidentOpened': {
        const x = (d.exception ?? {}) as Json;
        push(e, `incident opened     ${str(x.type)}: ${firstLine(str(x.value), 80)}${d.culprit ? ` (${str(d.culprit)})` : ''}`);
        break;
      }
      case 'ErrorRecorded':
        if (samples++ === 0) push(e, 'error recorded      first sample stored (stack, source-mapped frames, request)');
        break;
      case 'DiagnosisMade':
        push(e, `${round > 1 ? 'diagnosed again    ' : 'diagnosed          '} ${firstLine(str(d.rootCause), 100)} [${str(d.source)}${d.ruleId ? ` ${str(d.ruleId)}` : ''}]${round > 1 ? ` (round ${round})` : ''}`);
        break;
      case 'DiagnosisFailed':
        push(e, `diagnosis FAILED    ${firstLine(str(d.reason))}`);
        break;
      case 'PatchProposed':
        push(e, `patched             #${String(d.rank)} ${str(d.source)}${d.templateId ? ` ${str(d.templateId)}` : ''} in ${(d.files as string[] | undefined)?.join(', ') ?? '?'} (patch ${str(d.patchId).slice(0, 8)})`);
        break;
      case 'PatchFailed':
        push(e, `patch FAILED        ${firstLine(str(d.reason))}`);
        break;
      case 'PatchValidated': {
        const tests = (d.tests as { status: string }[] | undefined) ?? [];
        const repro = (d.reproduction ?? {}) as Json;
        push(e, `validated           patch ${str(d.patchId).slice(0, 8)}: ${tests.filter((t) => t.status === 'passed').length}/${tests.length} tests pass, reproduction ${str(repro.status)}`);
        break;
      }
      case 'PatchRejected':
        push(e, `rejected            patch ${str(d.patchId).slice(0, 8)} at ${str(d.stage)}: ${firstLine(str(d.reason), 110)}`);
        break;
      case 'FixCommitted':
        push(e, `committed           ${str(d.commitSha).slice(0, 12)} on ${str(d.branch)}`);
        break;
      case 'RolloutStarted':
        push(e, `rolling out         ${str(d.release)} in stages ${((d.stages as number[] | undefined) ?? []).join(' → ')} %`);
        break;
      case 'StageAdvanced': {
        const ev = (d.evidence ?? {}) as { counts?: { canary?: { requests?: number; errors?: number } }; errorRate?: { baseline?: number; canary?: number } };
        const rate = ev.errorRate ? ` (error rate canary ${pct(ev.errorRate.canary)} vs stable ${pct(ev.errorRate.baseline)})` : '';
        push(e, `rolled out          ${String(d.stage)} %${rate}`);
        break;
      }
      case 'RolloutCompleted':
        push(e, `rollout completed   ${str(d.release)} serves all traffic`);
        break;
      case 'RolledBack':
        push(e, `ROLLED BACK         at ${String(d.stage)} % (${str(d.cause)}): ${firstLine(str(d.reason), 100)}`);
        break;
      case 'DiagnosisRequested':
        round++;
        push(e, `back to diagnosis   ${firstLine(str(d.reason), 110)}`);
        break;
      case 'IncidentReopened':
        round = 1;
        break;
      case 'IncidentResolved':
        push(e, `resolved            ${str(d.resolution)}`);
        break;
      case 'IncidentEscalated':
        push(e, `ESCALATED           (${str(d.step)}) ${firstLine(str(d.reason), 120)}`);
        break;
      default:
        break;
    }
  }
  return lines;
}

function pct(x: number | undefined): string {
  return x === undefined ? '?' : `${(x * 100).toFixed(1)}%`;
}

/**
 * Where the loop stands after `events`. `stopped` names the step the loop cannot get past and the
 * reason the stream gives; `running` names the event it waits for next.
 */
export function loopOutcome(events: readonly ProgressEvent[]): LoopOutcome {
  // Only the latest round counts: a rollback sends the incident back to diagnosis.
  let start = 0;
  events.forEach((e, i) => {
    if (e.type === 'DiagnosisRequested' || e.type === 'IncidentReopened') start = i;
  });
  const round = events.slice(start);
  const last = (type: string) => [...round].reverse().find((e) => e.type === type);
  const escalated = last('IncidentEscalated');
  if (escalated) {
    const d = escalated.data as Json;
    return { status: 'stopped', stage: `escalated at ${str(d.step)}`, reason: str(d.reason) };
  }
  const completed = last('RolloutCompleted');
  if (completed) {
    const d = completed.data as Json;
    return { status: 'healed', patchId: str(d.patchId), release: str(d.release) };
  }
  if (round.some((e) => e.type === 'RolledBack')) return { status: 'running', waitingFor: 'DiagnosisRequested after the rollback' };
  if (round.some((e) => e.type === 'RolloutStarted')) return { status: 'running', waitingFor: 'StageAdvanced / RolloutCompleted (the canary is being judged)' };
  if (round.some((e) => e.type === 'FixCommitted')) return { status: 'running', waitingFor: 'RolloutStarted (deployer)' };
  const proposals = round.filter((e) => e.type === 'PatchProposed').map((e) => str((e.data as Json).patchId));
  const verdicts = new Map(round.filter((e) => e.type === 'PatchValidated' || e.type === 'PatchRejected' || e.type === 'PatchUnproven').map((e) => [str((e.data as Json).patchId), e]));
  if (proposals.length > 0) {
    if ([...verdicts.values()].some((v) => v.type === 'PatchValidated')) return { status: 'running', waitingFor: 'FixCommitted (deployer)' };
    if (proposals.every((p) => verdicts.has(p))) {
      const reasons = proposals.map((p) => `patch ${p.slice(0, 8)}: ${firstLine(str((verdicts.get(p)?.data as Json).reason), 200)}`);
      return { status: 'stopped', stage: 'validation (no proposed patch was validated: each rejected, or unproven)', reason: reasons.join('; ') };
    }
    return { status: 'running', waitingFor: 'PatchValidated / PatchRejected / PatchUnproven (validator)' };
  }
  const patchFailed = last('PatchFailed');
  if (patchFailed) return { status: 'stopped', stage: 'patch (patcher)', reason: str((patchFailed.data as Json).reason) };
  const diagnosisFailed = last('DiagnosisFailed');
  if (diagnosisFailed) return { status: 'stopped', stage: 'diagnosis (analyzer)', reason: str((diagnosisFailed.data as Json).reason) };
  if (round.some((e) => e.type === 'DiagnosisMade')) return { status: 'running', waitingFor: 'PatchProposed / PatchFailed (patcher)' };
  if (events.some((e) => e.type === 'ErrorRecorded')) return { status: 'running', waitingFor: 'DiagnosisMade / DiagnosisFailed (analyzer)' };
  return { status: 'running', waitingFor: 'ErrorRecorded (ingest)' };
}
