import type { EventStore, StoredEvent } from '@antibody/event-store';
import {
  analyseError,
  applyLearnedTemplate,
  asLearnedTemplate,
  diagnosisPrompt,
  excerpt,
  failedFixes,
  foldService,
  gatedCall,
  incidentSpend,
  llmDiagnosisSchema,
  parseModelJson,
  routeTier,
  FixKitError,
  type FailedFixFact,
  type FixLedger,
  type GitRepository,
  type LlmSettings,
} from '@antibody/fix-kit';
import { awaitsFirstDiagnosis, diagnosisFailed, diagnosisFromLlm, diagnosisFromPattern, diagnosisFromRule, withEscalation, type DiagnosisEvent } from '../domain/diagnosis';
import { decideRediagnosis } from '../domain/rediagnosis';

/** What the diagnoser works with; everything with I/O is passed in. */
export interface DiagnoserDeps {
  readonly store: EventStore;
  readonly ledger: FixLedger;
  readonly llm: LlmSettings;
  /** Opens a service's repository for reads at commits. */
  readonly openRepository: (location: string) => GitRepository;
  readonly now: () => Date;
  /** Rounds of re-diagnosis allowed after rollbacks before the incident is escalated (ANTIBODY_MAX_ROLLBACK_ROUNDS). */
  readonly maxRollbackRounds: number;
}

/** What to append to the incident's stream, at which expected version. */
export interface DiagnosisResult {
  readonly events: DiagnosisEvent[];
  readonly expectedVersion: number;
}

interface ErrorSample {
  exception: { type: string; value: string };
  frames: { filename: string; function?: string; lineno?: number; inApp: boolean; contextLine?: string }[];
  release?: string;
}

/**
 * Turns an incident's first error sample into a diagnosis: code read from git at the incident's
 * release, fault localisation over the crash frame and its callers, then learned patterns,
 * rules and finally an LLM tier (when configured and within budget). Every outcome is an
 * event; undefined means "already diagnosed, nothing to do".
 */
export class Diagnoser {
  constructor(private readonly deps: DiagnoserDeps) {}

  async diagnose(sample: StoredEvent): Promise<DiagnosisResult | undefined> {
    const incident = await this.deps.store.readStream(sample.streamId);
    if (!awaitsFirstDiagnosis(incident.events, sample.eventId)) return undefined;
    return { events: await this.analyse(incident.events, sample.data as ErrorSample, []), expectedVersion: incident.currentVersion };
  }

  /**
   * After an append of {@link diagnose}'s answer met a newer stream version: the version to
   * append the same answer at when the incident still waits for it (the stream only gained
   * events that do not change it, e.g. later samples or occurrence counts), or undefined when
   * a diagnosis was recorded meanwhile (or the incident was reopened).
   */
  async stillUndiagnosed(sample: StoredEvent): Promise<number | undefined> {
    const incident = await this.deps.store.readStream(sample.streamId);
    return awaitsFirstDiagnosis(incident.events, sample.eventId) ? incident.currentVersion : undefined;
  }

  /**
   * Answers a DiagnosisRequested (a rolled-out patch failed and was rolled back): the incident's
   * recorded sample is diagnosed again by the same tiers, the LLM tier told which fixes failed;
   * beyond `maxRollbackRounds` rounds the incident is escalated instead (see
   * {@link decideRediagnosis}). Undefined means "already answered".
   */
  async rediagnose(request: StoredEvent): Promise<DiagnosisResult | undefined> {
    const incident = await this.deps.store.readStream(request.streamId);
    const decision = decideRediagnosis(incident.events, request.eventId, this.deps.maxRollbackRounds);
    if (decision.kind === 'answered') return undefined;
    const expectedVersion = incident.currentVersion;
    if (decision.kind === 'stop') return { events: [...decision.events], expectedVersion };
    const sample = incident.events.find((e) => e.eventId === decision.sampleId)!;
    const failed = failedFixes(incident.events, request.streamVersion).map((f) => ({ ...(f.diff !== undefined ? { diff: f.diff } : {}), outcome: f.outcome }));
    const events = await this.analyse(incident.events, sample.data as ErrorSample, failed);
    return {
      events: events.map((e) => (e.type === 'DiagnosisMade' ? { ...e, data: { ...e.data, notes: [...(e.data.notes ?? []), decision.note] } } : e)),
      expectedVersion,
    };
  }

  /**
   * After an append of {@link rediagnose}'s answer met a newer stream version: the version to
   * append the same answer at when the request is still unanswered (the stream only gained
   * unrelated events, e.g. later samples), or undefined when it was answered meanwhile.
   */
  async stillUnanswered(request: StoredEvent): Promise<number | undefined> {
    const incident = await this.deps.store.readStream(request.streamId);
    return decideRediagnosis(incident.events, request.eventId, this.deps.maxRollbackRounds).kind === 'answered' ? undefined : incident.currentVersion;
  }

  private async analyse(incident: readonly StoredEvent[], error: ErrorSample, failed: readonly FailedFixFact[]): Promise<DiagnosisEvent[]> {
    const { store } = this.deps;
    const done = (...events: DiagnosisEvent[]) => events;
    const opened = incident.find((e) => e.type === 'IncidentOpened')?.data as { service: string; release?: string } | undefined;
    if (!opened) throw new Error(`incident stream ${incident[0]?.streamId ?? '?'} has no IncidentOpened yet`);

    const service = foldService((await store.readStream(`service-${opened.service}`)).events);
    if (!service) return done(diagnosisFailed(`service ${opened.service} is not registered (no ServiceRegistered event): there is no repository to read its code from`));

    const repo = this.deps.openRepository(service.repository.url);
    const ref = opened.release ?? error.release ?? service.repository.defaultBranch;
    let commit: string | undefined;
    try {
      commit = await repo.resolveCommit(ref);
    } catch (e) {
      if (e instanceof FixKitError) return done(diagnosisFailed(`cannot read repository ${service.repository.url}: ${e.message}`));
      throw e;
    }
    if (!commit) return done(diagnosisFailed(`release ${ref} is not a commit, tag or branch of ${service.repository.url}: the code that failed cannot be read`));
    const at = commit;

    const analysis = await analyseError({ errorType: error.exception.type, message: error.exception.value, frames: error.frames, read: (path) => repo.readFile(at, path) });
    if (analysis.localisation.sites.length === 0) {
      return done(diagnosisFailed(`no in-app frame of the stack exists in ${service.repository.url} at ${at.slice(0, 12)} (${analysis.localisation.notes.join('; ')})`));
    }

    // 1. Learned patterns: a template learned from an earlier healed incident of this class that matches the code here.
    const classes = new Set(analysis.matches.map((m) => m.rule.errorClass));
    // Patterns are read as projected, without waiting for the ledger to catch up: a pattern learned
    // moments ago is only missed once (rules and templates still apply), and template fixes stay fast.
    for (const pattern of await this.deps.ledger.patterns()) {
      if (pattern.retired || !classes.has(pattern.errorClass)) continue;
      const template = asLearnedTemplate(pattern.template);
      for (const site of analysis.localisation.sites) {
        const applied = applyLearnedTemplate(template, site.file, site.source, site.line);
        if (applied) return done(diagnosisFromPattern(analysis, at, pattern, { file: site.file, line: applied.line }));
      }
    }

    // 2. The rule catalog.
    if (analysis.match) return done(diagnosisFromRule(analysis, at));

    // 3. An LLM tier, within budget.
    const files = analysis.localisation.sites.map((s) => s.file);
    const route = routeTier({ files, frames: error.frames.filter((f) => f.inApp).length }, this.deps.llm);
    const unmatched = `no rule or learned pattern matches ${error.exception.type}: ${error.exception.value.split('\n')[0]}`;
    const messages = diagnosisPrompt({
      errorType: error.exception.type,
      message: error.exception.value,
      excerpts: analysis.localisation.sites.map((s) => excerpt(s.file, s.source, s.line)),
      failedFixes: failed,
    });
    const day = this.deps.now().toISOString().slice(0, 10);
    const spent = route.kind === 'tier' ? await this.deps.ledger.catchUp().then(() => this.deps.ledger.serviceSpend(opened.service, day)) : { day: 0, month: 0 };
    const gate = await gatedCall({ settings: this.deps.llm, route, budgets: service.policy.budgets, spend: { incident: incidentSpend(incident), ...spent }, messages, step: 'diagnosis' });
    if (gate.kind !== 'called') return withEscalation([diagnosisFailed(`${unmatched}; ${gate.reason}`)], gate.kind === 'refused' ? gate.budgetExceeded : undefined);
    const metered: DiagnosisEvent = { type: 'LlmCallMetered', data: { ...gate.metered, step: 'diagnosis' } };
    try {
      const answer = parseModelJson(gate.result.content, llmDiagnosisSchema);
      if (!files.includes(answer.file)) throw new FixKitError('LLM_OUTPUT_INVALID', `model named ${answer.file}, which is not one of the stack's files`);
      return done(metered, diagnosisFromLlm(analysis, at, answer, gate.result.model, gate.result.costUsd));
    } catch (e) {
      if (e instanceof FixKitError) return done(metered, diagnosisFailed(`${unmatched}; the ${gate.result.tier} tier's answer was rejected: ${e.message}`, gate.result.costUsd));
      throw e;
    }
  }
}
