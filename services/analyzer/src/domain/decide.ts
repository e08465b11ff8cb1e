import { ignore, type Decision, type RecordedEvent } from '@antibody/contracts';
import { currentRound, failedFixes, notUnderCare, underCare, type FailedFix, type IncidentState, type PatternState, type Round, type ServiceState } from '@antibody/domain';
import {
  applyLearnedTemplate,
  asLearnedTemplate,
  diagnosisPrompt,
  excerpt,
  FixKitError,
  llmDiagnosisSchema,
  parseModelJson,
  routeTier,
  runTiers,
  withEscalation,
  type Analysis,
  type LlmSettings,
  type ModelReply,
  type ModelRequest,
} from '@antibody/fix-kit';
import { diagnosisFailed, diagnosisFromLlm, diagnosisFromPattern, diagnosisFromRule, type DiagnosisEvent } from './diagnosis';

/** What asks for a diagnosis: an incident's first sample, or a DiagnosisRequested after a rollback. */
export type DiagnosisTrigger = { readonly kind: 'first-sample'; readonly sampleId: string } | { readonly kind: 'rollback'; readonly requestId: string };

/** The code the sample failed in, as the handler gathered it when the decision asked ({@link ReadCode}). */
export type CodeFacts =
  | { readonly kind: 'unreadable'; readonly reason: string }
  | { readonly kind: 'analysed'; readonly repository: string; readonly commit: string; readonly analysis: Analysis; readonly patterns: readonly PatternState[] };

/** A command to the analyzer's decider: the trigger, the facts gathered so far, the settings. */
export interface DiagnoseCommand {
  readonly trigger: DiagnosisTrigger;
  /** Rounds of re-diagnosis allowed after rollbacks before the incident is escalated (ANTIBODY_MAX_ROLLBACK_ROUNDS). */
  readonly maxRollbackRounds: number;
  /** The incident's service stream, folded. */
  readonly service: ServiceState;
  readonly llm: LlmSettings;
  readonly code?: CodeFacts;
  readonly reply?: ModelReply;
}

/** More facts are needed: the sample's code at `ref`, analysed, and the pattern library. */
export interface ReadCode {
  readonly kind: 'read-code';
  readonly sample: RecordedEvent<'ErrorRecorded'>;
  readonly repository: string;
  readonly ref: string;
}

/** What the decider answers: a decision, or a request for more facts (the code, a model's reply). */
export type DiagnosisDecision = Decision<DiagnosisEvent> | ReadCode | { readonly kind: 'ask-model'; readonly request: ModelRequest };

/** A DiagnosisRequested or sample that the incident's stream does not hold (read too early): retried by the consumer. */
export class DiagnosisError extends Error {
  override readonly name = 'DiagnosisError';
  constructor(
    readonly code: 'TRIGGER_NOT_IN_STREAM' | 'INCIDENT_NOT_OPENED',
    message: string,
  ) {
    super(message);
  }
}

/** What to diagnose, once it is settled that something is. */
interface Plan {
  readonly sample: RecordedEvent<'ErrorRecorded'>;
  readonly failed: readonly FailedFix[];
  readonly note?: string;
}

const patches = (ids: readonly string[]): string => `${ids.length === 1 ? 'patch' : 'patches'} ${ids.map((id) => id.slice(0, 8)).join(', ')}`;

/**
 * The analyzer's decider. An incident is diagnosed once from its first sample (round 0, or the
 * round a reopening started); each DiagnosisRequested after a rollback starts a round that is
 * diagnosed again from the same sample, the model told which fixes failed, at most
 * `maxRollbackRounds` times since the incident was opened: the request beyond ends the incident
 * escalated, naming the failed patches. A deregistered service's incidents are not diagnosed.
 * Every outcome is an event (a failure ends escalated) or a named ignore; the code and a model's
 * reply are facts the decider asks for and is given again.
 */
export function decideDiagnosis(command: DiagnoseCommand, state: IncidentState): DiagnosisDecision {
  const planned = plan(command, state);
  if ('kind' in planned) return planned;
  const name = state.opened!.service;
  const registration = underCare(command.service);
  if (!registration) return append([diagnosisFailed(`${notUnderCare(command.service, name)!}: there is no repository to read its code from`)]);
  const code = command.code;
  if (!code) {
    const ref = state.opened?.release ?? planned.sample.data.release ?? registration.repository.defaultBranch;
    return { kind: 'read-code', sample: planned.sample, repository: registration.repository.url, ref };
  }
  if (code.kind === 'unreadable') return append([diagnosisFailed(code.reason)]);
  const { analysis, commit, patterns } = code;
  if (analysis.localisation.sites.length === 0) {
    const failure = analysis.localisation.failure;
    if (failure) return append([diagnosisFailed(`no in-app frame of the stack could be traced to its source in ${code.repository} at ${commit.slice(0, 12)}: ${failure}`)]);
    return append([diagnosisFailed(`no in-app frame of the stack exists in ${code.repository} at ${commit.slice(0, 12)} (${analysis.localisation.notes.join('; ')})`)]);
  }
  const error = planned.sample.data;
  const classes = new Set(analysis.matches.map((m) => m.rule.errorClass));
  const files = analysis.localisation.sites.map((s) => s.file);
  const outcome = runTiers<DiagnosisEvent>(
    [
      // 1. Learned patterns: a template learned from an earlier healed incident of this class that matches the code here.
      () => {
        for (const pattern of patterns) {
          if (pattern.retired || !classes.has(pattern.errorClass)) continue;
          const template = asLearnedTemplate(pattern.template);
          for (const site of analysis.localisation.sites) {
            const applied = applyLearnedTemplate(template, site.file, site.source, site.line);
            if (applied) return [diagnosisFromPattern(analysis, commit, pattern, { file: site.file, line: applied.line })];
          }
        }
        return undefined;
      },
      // 2. The rule catalog.
      () => (analysis.match ? [diagnosisFromRule(analysis, commit)] : undefined),
    ],
    // 3. A model tier, within budget, told which fixes failed.
    () => ({
      step: 'diagnosis',
      unanswered: `no rule or learned pattern matches ${error.exception.type}: ${error.exception.value.split('\n')[0]}`,
      route: routeTier({ files, frames: error.frames.filter((f) => f.inApp).length }, command.llm),
      service: name,
      messages: diagnosisPrompt({
        errorType: error.exception.type,
        message: error.exception.value,
        excerpts: analysis.localisation.sites.map((s) => excerpt(s.file, s.source, s.line)),
        failedFixes: planned.failed.map((f) => ({ ...(f.diff !== undefined ? { diff: f.diff } : {}), outcome: f.outcome })),
      }),
      budgets: registration.policy.budgets,
      incidentSpentUsd: state.spentUsd,
      accept: (result) => {
        const answer = parseModelJson(result.content, llmDiagnosisSchema);
        if (!files.includes(answer.file)) throw new FixKitError('LLM_OUTPUT_INVALID', `model named ${answer.file}, which is not one of the stack's files`);
        return [diagnosisFromLlm(analysis, commit, answer, result.model, result.costUsd)];
      },
      failed: diagnosisFailed,
    }),
    command.reply,
  );
  if (outcome.kind === 'ask-model') return outcome;
  const note = planned.note;
  return append(note ? outcome.events.map((e) => (e.type === 'DiagnosisMade' ? { ...e, data: { ...e.data, notes: [...(e.data.notes ?? []), note] } } : e)) : outcome.events);
}

/** Whether the trigger is to be diagnosed, and from which sample; or the decision that it is not. */
function plan(command: DiagnoseCommand, state: IncidentState): Plan | Decision<DiagnosisEvent> {
  const { trigger } = command;
  if (!state.opened) throw new DiagnosisError('INCIDENT_NOT_OPENED', `the incident stream has no IncidentOpened yet`);
  const round = currentRound(state);
  if (trigger.kind === 'first-sample') {
    if (state.openSample?.eventId !== trigger.sampleId) return ignore(`sample ${trigger.sampleId} is not the incident's first since it was opened: only the first sample is diagnosed`);
    if (!round || round.trigger.type === 'DiagnosisRequested' || round.diagnosis) return ignore(`the incident is already diagnosed from sample ${trigger.sampleId}`);
    const away = notUnderCare(command.service, state.opened.service);
    if (away && command.service.status === 'deregistered') return ignore(`${away}: its reports are not diagnosed`);
    return { sample: state.openSample, failed: [] };
  }

  const requested = state.rounds.find((r): r is Round & { trigger: RecordedEvent<'DiagnosisRequested'> } => r.trigger.eventId === trigger.requestId && r.trigger.type === 'DiagnosisRequested');
  if (!requested) throw new DiagnosisError('TRIGGER_NOT_IN_STREAM', `DiagnosisRequested ${trigger.requestId} is not in the incident's stream`);
  if (requested !== round) return ignore(`DiagnosisRequested ${trigger.requestId} is superseded by a later request or a reopening`);
  if (requested.diagnosis || requested.ended) return ignore(`DiagnosisRequested ${trigger.requestId} is already answered`);
  const away = notUnderCare(command.service, state.opened.service);
  if (away && command.service.status === 'deregistered') return ignore(`${away}: its reports are not diagnosed`);

  const { reason, excludePatchIds } = requested.trigger.data;
  const failed = `${patches(excludePatchIds)} failed in production (${reason})`;
  const max = command.maxRollbackRounds;
  if (requested.rollbackRound > max) {
    const bound = max === 0 ? 're-diagnosis after a rollback is off (ANTIBODY_MAX_ROLLBACK_ROUNDS=0)' : `it already went back to diagnosis ${max} time${max === 1 ? '' : 's'}, the most allowed (ANTIBODY_MAX_ROLLBACK_ROUNDS=${max})`;
    return append([{ type: 'IncidentEscalated', data: { reason: `${failed}; ${bound}: a person decides the next step`.slice(0, 2000), step: 'diagnosis' } }]);
  }
  if (!state.openSample) return append([diagnosisFailed(`${failed}, and the incident has no recorded error sample to diagnose again from`)]);
  return {
    sample: state.openSample,
    failed: failedFixes(state),
    note: `diagnosed again after a rollback (round ${requested.rollbackRound} of at most ${max}): ${patches(excludePatchIds)} excluded`,
  };
}

function append(events: readonly DiagnosisEvent[]): Decision<DiagnosisEvent> {
  return { kind: 'append', events: withEscalation(events) };
}
