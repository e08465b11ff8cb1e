import { ignore, patchIdSchema, type Decision, type RecordedEvent } from '@antibody/contracts';
import { currentRound, failedFixes, notUnderCare, rejectedFixes, underCare, type IncidentState, type PatternState, type Round, type ServiceState } from '@antibody/domain';
import {
  applyLearnedTemplate,
  asLearnedTemplate,
  checkLlmPatch,
  defaultRuleCatalog,
  excerpt,
  llmPatchSchema,
  parseModelJson,
  pathRefusal,
  patchPrompt,
  proposeTemplateFixes,
  routeTier,
  runTiers,
  unifiedDiff,
  withEscalation,
  type FixSite,
  type LlmSettings,
  type ModelReply,
  type ModelRequest,
  type TypeProject,
} from '@antibody/fix-kit';
import { changesToAvoid, describeFailed, idsAvoiding, repeatedFix, withoutFailed } from './exclusion';
import { addedDiagnostics, describeDropped, droppedOf, fromPattern, fromTemplate, keepCompiling, rankProposals, type Dropped, type PatchEvent, type Proposal } from './patching';

/** One diagnosed site, as the diagnosis names it. */
export interface SiteFact {
  readonly file: string;
  readonly line: number;
  readonly function?: string;
  readonly suspect?: string;
  readonly weight: number;
}

/** The code at the diagnosed commit, as the handler gathered it when the decision asked ({@link ReadSites}). */
export type SiteFacts =
  | { readonly kind: 'unreadable'; readonly reason: string }
  | {
      readonly kind: 'read';
      readonly commit: string;
      readonly sites: readonly FixSite[];
      readonly patterns: readonly PatternState[];
      /** The repository at the commit under the TypeScript language service: fallbacks follow its types, and a candidate that adds diagnostics is dropped. */
      readonly types?: TypeProject;
    };

/** A command to the patcher's decider: the diagnosis to answer, the facts gathered so far, the settings. */
export interface PatchCommand {
  /** The DiagnosisMade event to answer. */
  readonly diagnosisId: string;
  /** The incident's service stream, folded. */
  readonly service: ServiceState;
  readonly llm: LlmSettings;
  /** Candidates proposed per diagnosis (default 5). */
  readonly maxCandidates?: number;
  /** The k-th patch id this diagnosis may use (deterministic, so a redelivery gets the same ids); ids of failed patches are skipped. */
  readonly patchIdBase: (k: number) => string;
  readonly code?: SiteFacts;
  readonly reply?: ModelReply;
}

/** More facts are needed: the diagnosed files at the commit (resolving `ref` when the diagnosis names no commit), and the pattern library. */
export interface ReadSites {
  readonly kind: 'read-sites';
  readonly repository: string;
  readonly commit?: string;
  readonly ref: string;
  readonly sites: readonly SiteFact[];
}

/** What the decider answers: a decision, or a request for more facts (the code, a model's reply). */
export type PatchDecision = Decision<PatchEvent> | ReadSites | { readonly kind: 'ask-model'; readonly request: ModelRequest };

/** A DiagnosisMade the incident's stream does not hold (read too early): retried by the consumer. */
export class PatchDecisionError extends Error {
  override readonly name = 'PatchDecisionError';
  readonly code = 'DIAGNOSIS_NOT_IN_STREAM';
}

/**
 * The patcher's decider. Each diagnosis gets ranked candidate patches once: learned patterns
 * first, then the rule's syntax-tree templates at every localised site, then (only when neither
 * produced anything) a model within budget. Every file a patch touches passes the service's path
 * policy. A fix that failed in production (excluded by a DiagnosisRequested) is never proposed
 * again, nor a change the validator rejected at the same commit, and new ids avoid the failed
 * ones: the next-ranked candidates are proposed, then the model is asked, told what failed. A
 * diagnosis already answered or superseded by a newer round, and a deregistered service's
 * incident, are ignored with the reason.
 */
export function decidePatch(command: PatchCommand, state: IncidentState): PatchDecision {
  const round = state.rounds.find((r): r is Round & { diagnosis: RecordedEvent<'DiagnosisMade'> } => r.diagnosis?.eventId === command.diagnosisId && r.diagnosis.type === 'DiagnosisMade');
  if (!round) throw new PatchDecisionError(`DiagnosisMade ${command.diagnosisId} is not in the incident's stream`);
  if (round !== currentRound(state)) return ignore(`diagnosis ${command.diagnosisId} is superseded by a newer round`);
  if (round.patchIds.length > 0 || round.patchFailed) return ignore(`diagnosis ${command.diagnosisId} is already answered`);
  const diagnosis = round.diagnosis.data;
  const opened = state.opened;
  const sample = state.firstSample?.data;
  if (command.service.status === 'deregistered' && opened) return ignore(`${notUnderCare(command.service, opened.service)!}: its incidents are not patched`);
  if (!opened || !sample) return append([failed('the incident has no IncidentOpened/ErrorRecorded to patch from')]);
  const registration = underCare(command.service);
  if (!registration) return append([failed(`service ${opened.service} is not registered: no repository to patch`)]);
  const policy = registration.policy;

  const code = command.code;
  if (!code) {
    const sites = diagnosis.sites && diagnosis.sites.length > 0 ? diagnosis.sites : [{ ...diagnosis.location, weight: 1 }];
    return { kind: 'read-sites', repository: registration.repository.url, ...(diagnosis.commit ? { commit: diagnosis.commit } : {}), ref: opened.release ?? registration.repository.defaultBranch, sites };
  }
  if (code.kind === 'unreadable') return append([failed(code.reason)]);
  const { commit, sites, patterns, types } = code;
  const refused = sites.map((s) => pathRefusal(s.file, policy)).filter((r): r is string => r !== undefined);
  const allowed = sites.filter((s) => pathRefusal(s.file, policy) === undefined);
  if (allowed.length === 0) return append([failed(`no fix site may be patched under the service's policy: ${[...new Set(refused)].join('; ')}`)]);

  const failedBefore = failedFixes(state);
  const avoided = changesToAvoid(failedBefore, rejectedFixes(state), commit);
  const max = command.maxCandidates ?? 5;
  const rule = defaultRuleCatalog().find((r) => r.id === diagnosis.ruleId) ?? defaultRuleCatalog().find((r) => r.errorClass === diagnosis.errorClass);
  const nextId = idsAvoiding(command.patchIdBase, new Set(failedBefore.map((f) => f.patchId)));
  const patchId = (i: number) => patchIdSchema.parse(nextId(i));
  const errorClass = diagnosis.errorClass ?? rule?.errorClass;
  const extra = { baseCommit: commit, ...(errorClass ? { errorClass } : {}) };

  const proposals: Proposal[] = [];
  // 1. Learned patterns of this error class (or the one the analyzer matched).
  for (const pattern of patterns) {
    if (pattern.retired) continue;
    if (pattern.patternId !== diagnosis.patternId && pattern.errorClass !== diagnosis.errorClass) continue;
    const template = asLearnedTemplate(pattern.template);
    for (const site of allowed) {
      const applied = applyLearnedTemplate(template, site.file, site.source, site.line);
      if (applied) {
        proposals.push(fromPattern(pattern, site.file, unifiedDiff(site.file, site.source, applied.after), applied.after));
        break;
      }
    }
  }
  // 2. The rule's templates.
  if (rule) {
    const proposal = proposeTemplateFixes({
      ruleId: rule.id,
      errorClass: rule.errorClass,
      strategies: rule.strategies,
      ruleConfidence: rule.confidence,
      errorType: sample.exception.type,
      message: sample.exception.value,
      captures: diagnosis.captures ?? {},
      sites: allowed,
      policy,
      ...(types ? { types } : {}),
      // Enough candidates that the next-ranked ones remain once the failed fixes are dropped.
      max: max + avoided.length,
    });
    proposals.push(...proposal.candidates.map(fromTemplate));
  }
  const fresh = withoutFailed(proposals, avoided);
  // 3. No candidate that adds a compiler diagnostic is proposed: the next-ranked ones take its place.
  const compiling = keepCompiling(fresh.kept, types, max);
  const dropped: Dropped[] = [...compiling.dropped];
  const failedWithDropped = (reason: string, costUsd?: number): PatchEvent => failed(reason, costUsd, dropped);

  const repeated = [...new Set(fresh.repeats.map((r) => r.failed))];
  const noTemplate =
    repeated.length > 0
      ? `every template candidate repeats a fix that ${repeated.every((f) => failedBefore.includes(f)) ? 'failed in production' : 'already failed'}: ${describeFailed(repeated)}`
      : compiling.dropped.length > 0 && compiling.kept.length === 0
        ? `every candidate adds type errors: ${describeDropped(compiling.dropped)}`
        : rule
          ? `no template of rule ${rule.id} fits the code at ${allowed.map((s) => `${s.file}:${s.line}`).join(', ')}`
          : 'no rule or learned pattern applies';
  const failedNote = failedBefore.length > 0 && fresh.repeats.length === 0 ? ` (after ${describeFailed(failedBefore)})` : '';
  const route = routeTier({ files: sites.map((s) => s.file), frames: sample.frames.filter((f) => f.inApp).length }, command.llm);
  const outcome = runTiers<PatchEvent>(
    [() => (compiling.kept.length > 0 ? rankProposals(compiling.kept, patchId, { ...extra, dropped }, max) : undefined)],
    // 4. A model tier: the error, the diagnosis and the code around each allowed site, as data (and what already failed).
    () => ({
      step: 'patch',
      unanswered: `${noTemplate}${failedNote}`,
      route,
      service: opened.service,
      messages: patchPrompt({
        errorType: sample.exception.type,
        message: sample.exception.value,
        rootCause: diagnosis.rootCause,
        excerpts: allowed.map((s) => excerpt(s.file, s.source, s.line)),
        editableFiles: [...new Set(allowed.map((s) => s.file))],
        failedFixes: failedBefore.map((f) => ({ ...(f.diff !== undefined ? { diff: f.diff } : {}), outcome: f.outcome })),
      }),
      budgets: policy.budgets,
      incidentSpentUsd: state.spentUsd,
      accept: (result) => {
        const answer = parseModelJson(result.content, llmPatchSchema);
        const checked = checkLlmPatch(answer, new Map(allowed.map((s) => [s.file, s.source])), policy);
        const repeat = repeatedFix(checked.diff, avoided);
        if (repeat) return `repeats ${describeFailed([repeat])}: the same change is not proposed again`;
        const proposal: Proposal = {
          source: 'llm',
          model: result.model,
          files: checked.files.map((f) => f.file),
          diff: checked.diff,
          rationale: `${answer.rationale} (root cause: ${answer.rootCause}; ${result.tier} tier, ${route.kind === 'tier' ? route.reason : ''})`.slice(0, 4000),
          confidence: answer.confidence,
          costUsd: result.costUsd,
          changes: checked.files.map((f) => ({ file: f.file, after: f.after })),
        };
        const added = addedDiagnostics(proposal, types);
        if (added.length > 0) {
          dropped.push(droppedOf(proposal, added));
          return `does not type-check: ${describeDropped([dropped[dropped.length - 1]!])}`;
        }
        return rankProposals([proposal], patchId, { ...extra, dropped });
      },
      failed: failedWithDropped,
    }),
    command.reply,
  );
  return outcome.kind === 'ask-model' ? outcome : append(outcome.events);
}

/** PatchFailed with the reason (and the spend, when a model was paid for nothing usable; the candidates the type check dropped). */
export function failed(reason: string, costUsd?: number, dropped: readonly Dropped[] = []): PatchEvent {
  return { type: 'PatchFailed', data: { reason: reason.slice(0, 2000), ...(costUsd !== undefined ? { costUsd } : {}), ...(dropped.length > 0 ? { dropped: dropped.map((d) => ({ ...d })) } : {}) } };
}

function append(events: readonly PatchEvent[]): Decision<PatchEvent> {
  return { kind: 'append', events: withEscalation(events) };
}
