import { patchIdSchema } from '@antibody/contracts';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import { deterministicEventId } from '@antibody/event-store';
import {
  applyLearnedTemplate,
  asLearnedTemplate,
  checkLlmPatch,
  defaultRuleCatalog,
  excerpt,
  failedFixes,
  FixKitError,
  foldService,
  gatedCall,
  incidentSpend,
  llmPatchSchema,
  parseModelJson,
  pathRefusal,
  patchPrompt,
  proposeTemplateFixes,
  rejectedFixes,
  routeTier,
  unifiedDiff,
  type FixLedger,
  type FixSite,
  type GitRepository,
  type LlmSettings,
} from '@antibody/fix-kit';
import { changesToAvoid, describeFailed, idsAvoiding, repeatedFix, withoutFailed } from '../domain/exclusion';
import { alreadyPatched, fromPattern, fromTemplate, rankProposals, withEscalation, type PatchEvent, type Proposal } from '../domain/patching';

export interface PatcherDeps {
  readonly store: EventStore;
  readonly ledger: FixLedger;
  readonly llm: LlmSettings;
  readonly openRepository: (location: string) => GitRepository;
  readonly now: () => Date;
  /** Candidates proposed per incident (default 5). */
  readonly maxCandidates?: number;
}

interface Diagnosis {
  rootCause: string;
  location: { file: string; line: number; function?: string };
  source: 'pattern' | 'rule' | 'llm';
  ruleId?: string;
  patternId?: string;
  errorClass?: string;
  commit?: string;
  captures?: Record<string, string>;
  sites?: { file: string; line: number; function?: string; suspect?: string; weight: number }[];
}

interface Sample {
  exception: { type: string; value: string };
  frames: { filename: string; inApp: boolean }[];
}

/**
 * Turns a diagnosis into ranked candidate patches: learned patterns first, then the rule's
 * syntax-tree templates at every localised site, then (only when neither produced anything) an
 * LLM tier within budget. Code is read from git at the diagnosed commit; every file a patch
 * touches passes the service's path policy. A diagnosis made after a rollback
 * (DiagnosisRequested) never gets a candidate whose id or change is one of the excluded,
 * failed patches, nor one whose change the validator already rejected at the same commit: the
 * next-ranked candidates are proposed, then the LLM tier is asked, told what failed in
 * production. Undefined means "already handled".
 */
export class Patcher {
  constructor(private readonly deps: PatcherDeps) {}

  async patch(diagnosisEvent: StoredEvent): Promise<PatchEvent[] | undefined> {
    const { store } = this.deps;
    const incident = await store.readStream(diagnosisEvent.streamId);
    if (alreadyPatched(incident.events, diagnosisEvent.eventId)) return undefined;
    const diagnosis = diagnosisEvent.data as Diagnosis;
    const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as { service: string; release?: string } | undefined;
    const sample = incident.events.find((e) => e.type === 'ErrorRecorded')?.data as Sample | undefined;
    if (!opened || !sample) return [failed('the incident has no IncidentOpened/ErrorRecorded to patch from')];
    const service = foldService((await store.readStream(`service-${opened.service}`)).events);
    if (!service) return [failed(`service ${opened.service} is not registered: no repository to patch`)];
    const repo = this.deps.openRepository(service.repository.url);
    const commit = diagnosis.commit ?? (await repo.resolveCommit(opened.release ?? service.repository.defaultBranch));
    if (!commit) return [failed(`the diagnosed code's commit cannot be found in ${service.repository.url}`)];

    const siteFacts = diagnosis.sites && diagnosis.sites.length > 0 ? diagnosis.sites : [{ ...diagnosis.location, weight: 1 }];
    const sites: FixSite[] = [];
    for (const s of siteFacts) {
      const source = await repo.readFile(commit, s.file);
      if (source !== undefined) sites.push({ file: s.file, source, line: s.line, ...(s.function ? { function: s.function } : {}), ...(s.suspect ? { suspect: s.suspect } : {}), weight: s.weight });
    }
    if (sites.length === 0) return [failed(`none of the diagnosed files exist at ${commit.slice(0, 12)}`)];
    const refused = sites.map((s) => pathRefusal(s.file, service.policy)).filter((r): r is string => r !== undefined);
    const allowed = sites.filter((s) => pathRefusal(s.file, service.policy) === undefined);
    if (allowed.length === 0) return [failed(`no fix site may be patched under the service's policy: ${[...new Set(refused)].join('; ')}`)];

    // Fixes that already failed in production (rolled back) before this diagnosis: never proposed again;
    // nor are changes the validator already rejected for this same code.
    const failedBefore = failedFixes(incident.events, diagnosisEvent.streamVersion);
    const avoided = changesToAvoid(failedBefore, rejectedFixes(incident.events, diagnosisEvent.streamVersion), commit);
    const proposals: Proposal[] = [];
    // 1. Learned patterns of this error class (or the one the analyzer matched).
    // Patterns are read as projected, without waiting for the ledger to catch up: a pattern learned
    // moments ago is only missed once (rules and templates still apply), and template fixes stay fast.
    for (const pattern of await this.deps.ledger.patterns()) {
      if (pattern.retired) continue;
      if (pattern.patternId !== diagnosis.patternId && pattern.errorClass !== diagnosis.errorClass) continue;
      const template = asLearnedTemplate(pattern.template);
      for (const site of allowed) {
        const applied = applyLearnedTemplate(template, site.file, site.source, site.line);
        if (applied) {
          proposals.push(fromPattern(pattern, site.file, unifiedDiff(site.file, site.source, applied.after)));
          break;
        }
      }
    }
    // 2. The rule's templates.
    const rule = defaultRuleCatalog().find((r) => r.id === diagnosis.ruleId) ?? defaultRuleCatalog().find((r) => r.errorClass === diagnosis.errorClass);
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
        policy: service.policy,
        // Enough candidates that the next-ranked ones remain once the failed fixes are dropped.
        max: (this.deps.maxCandidates ?? 5) + avoided.length,
      });
      proposals.push(...proposal.candidates.map(fromTemplate));
    }
    const nextId = idsAvoiding((i) => deterministicEventId(diagnosisEvent.eventId, 'patcher.patch-id', i), new Set(failedBefore.map((f) => f.patchId)));
    const patchId = (i: number) => patchIdSchema.parse(nextId(i));
    const extra = { baseCommit: commit, ...(diagnosis.errorClass ?? rule?.errorClass ? { errorClass: diagnosis.errorClass ?? rule?.errorClass } : {}) };
    const fresh = withoutFailed(proposals, avoided);
    if (fresh.kept.length > 0) return rankProposals(fresh.kept, patchId, extra, this.deps.maxCandidates ?? 5);

    // 3. An LLM tier: the error, the diagnosis and the code around each allowed site, as data (and what already failed).
    const repeated = [...new Set(fresh.repeats.map((r) => r.failed))];
    const noTemplate =
      repeated.length > 0
        ? `every template candidate repeats a fix that ${repeated.every((f) => failedBefore.includes(f)) ? 'failed in production' : 'already failed'}: ${describeFailed(repeated)}`
        : rule
          ? `no template of rule ${rule.id} fits the code at ${allowed.map((s) => `${s.file}:${s.line}`).join(', ')}`
          : 'no rule or learned pattern applies';
    const failedNote = failedBefore.length > 0 && fresh.repeats.length === 0 ? ` (after ${describeFailed(failedBefore)})` : '';
    const route = routeTier({ files: sites.map((s) => s.file), frames: sample.frames.filter((f) => f.inApp).length }, this.deps.llm);
    const editable = [...new Set(allowed.map((s) => s.file))];
    const messages = patchPrompt({
      errorType: sample.exception.type,
      message: sample.exception.value,
      rootCause: diagnosis.rootCause,
      excerpts: allowed.map((s) => excerpt(s.file, s.source, s.line)),
      editableFiles: editable,
      failedFixes: failedBefore.map((f) => ({ ...(f.diff !== undefined ? { diff: f.diff } : {}), outcome: f.outcome })),
    });
    const day = this.deps.now().toISOString().slice(0, 10);
    // Spend must be current before a paid call: a ledger that cannot catch up makes this a retry, never an unchecked call.
    const spent = route.kind === 'tier' ? await this.deps.ledger.catchUp().then(() => this.deps.ledger.serviceSpend(opened.service, day)) : { day: 0, month: 0 };
    const gate = await gatedCall({ settings: this.deps.llm, route, budgets: service.policy.budgets, spend: { incident: incidentSpend(incident.events), ...spent }, messages, step: 'patch' });
    if (gate.kind !== 'called') return withEscalation([failed(`${noTemplate}${failedNote}; ${gate.reason}`)], gate.kind === 'refused' ? gate.budgetExceeded : undefined);
    const metered: PatchEvent = { type: 'LlmCallMetered', data: { ...gate.metered, step: 'patch' } };
    try {
      const answer = parseModelJson(gate.result.content, llmPatchSchema);
      const sources = new Map(allowed.map((s) => [s.file, s.source]));
      const checked = checkLlmPatch(answer, sources, service.policy);
      const repeat = repeatedFix(checked.diff, avoided);
      if (repeat) {
        return [metered, failed(`${noTemplate}${failedNote}; the ${gate.result.tier} tier's answer repeats ${describeFailed([repeat])}: the same change is not proposed again`, gate.result.costUsd)];
      }
      const proposal: Proposal = {
        source: 'llm',
        model: gate.result.model,
        files: checked.files.map((f) => f.file),
        diff: checked.diff,
        rationale: `${answer.rationale} (root cause: ${answer.rootCause}; ${gate.result.tier} tier, ${route.kind === 'tier' ? route.reason : ''})`.slice(0, 4000),
        confidence: answer.confidence,
        costUsd: gate.result.costUsd,
      };
      return [metered, ...rankProposals([proposal], patchId, extra)];
    } catch (e) {
      if (e instanceof FixKitError) return [metered, failed(`${noTemplate}${failedNote}; the ${gate.result.tier} tier's answer was rejected: ${e.message}`, gate.result.costUsd)];
      throw e;
    }
  }
}

function failed(reason: string, costUsd?: number): PatchEvent {
  return { type: 'PatchFailed', data: { reason: reason.slice(0, 2000), ...(costUsd !== undefined ? { costUsd } : {}) } };
}
