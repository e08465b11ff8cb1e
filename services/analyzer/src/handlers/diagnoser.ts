import type { AppendResult, EventStore, ExpectedVersion } from '@antibody/event-store';
import { foldEvents, type AntibodyEvent, type Decision } from '@antibody/contracts';
import { handleCommand, type CommandOutcome } from '@antibody/bus';
import { incidentFold, serviceFold, type IncidentState, type PatternState } from '@antibody/domain';
import { analyseError, FixKitError, type LlmSettings, type ModelReply, type ModelRequest } from '@antibody/fix-kit';
import type { FixLedger, GitRepository } from '@antibody/fix-io';
import { decideDiagnosis, type CodeFacts, type DiagnoseCommand, type DiagnosisTrigger, type ReadCode } from '../domain/decide';
import type { DiagnosisEvent } from '../domain/diagnosis';

/** What the diagnoser works with; everything with I/O is passed in. */
export interface DiagnoserDeps {
  readonly store: EventStore;
  readonly ledger: Pick<FixLedger, 'patterns'>;
  readonly llm: LlmSettings;
  /** Opens a service's repository for reads at commits. */
  readonly openRepository: (location: string) => GitRepository;
  /** Pays a model for a pipeline's request (fix-io's `modelCaller`: spend from the ledger, the gated call). */
  readonly askModel: (request: ModelRequest) => Promise<ModelReply>;
  /** Rounds of re-diagnosis allowed after rollbacks before the incident is escalated (ANTIBODY_MAX_ROLLBACK_ROUNDS). */
  readonly maxRollbackRounds: number;
}

/**
 * Runs the analyzer's decider ({@link decideDiagnosis}) against an incident's stream: it reads
 * the service's stream, and when the decider asks, the code at the failing release (git),
 * analysed and localised, with the pattern library (the ledger), and a model's reply. Those facts
 * are memoised for the command, so when the append meets a newer stream version and the decision
 * is taken again, neither git nor the model is asked twice.
 */
export class Diagnoser {
  constructor(private readonly deps: DiagnoserDeps) {}

  /** Decides on `trigger` and appends the decision to `streamId` at the version it was decided at (retried on conflicts). */
  handle(trigger: DiagnosisTrigger, streamId: string, append: (events: readonly AntibodyEvent[], expectedVersion: ExpectedVersion) => Promise<AppendResult>): Promise<CommandOutcome<DiagnosisEvent>> {
    const decide = this.decider(trigger);
    return handleCommand<IncidentState, DiagnosisEvent>({ store: this.deps.store, streamId, fold: incidentFold, append }, decide);
  }

  /** What would be decided on `trigger` now, without appending (a redelivery's view). */
  async decide(trigger: DiagnosisTrigger, streamId: string): Promise<Decision<DiagnosisEvent>> {
    return this.decider(trigger)(foldEvents(incidentFold, (await this.deps.store.readStream(streamId)).events));
  }

  private decider(trigger: DiagnosisTrigger): (state: IncidentState) => Promise<Decision<DiagnosisEvent>> {
    const code = memo<CodeFacts>();
    const reply = memo<ModelReply>();
    return async (state) => {
      const service = state.opened ? foldEvents(serviceFold, (await this.deps.store.readStream(`service-${state.opened.service}`)).events) : serviceFold.initialState();
      let command: DiagnoseCommand = { trigger, maxRollbackRounds: this.deps.maxRollbackRounds, service, llm: this.deps.llm };
      for (;;) {
        const decision = decideDiagnosis(command, state);
        if (decision.kind === 'read-code') command = { ...command, code: await code(`${decision.sample.eventId}@${decision.ref}`, () => this.readCode(decision)) };
        else if (decision.kind === 'ask-model') command = { ...command, reply: await reply(JSON.stringify(decision.request.messages), () => this.deps.askModel(decision.request)) };
        else return decision;
      }
    };
  }

  /** The sample's code at the release it came from, analysed and localised; patterns as projected (a pattern learned moments ago is only missed once). */
  private async readCode(request: ReadCode): Promise<CodeFacts> {
    const repo = this.deps.openRepository(request.repository);
    let commit: string | undefined;
    try {
      commit = await repo.resolveCommit(request.ref);
    } catch (e) {
      if (e instanceof FixKitError) return { kind: 'unreadable', reason: `cannot read repository ${request.repository}: ${e.message}` };
      throw e;
    }
    if (!commit) return { kind: 'unreadable', reason: `release ${request.ref} is not a commit, tag or branch of ${request.repository}: the code that failed cannot be read` };
    const at = commit;
    const error = request.sample.data;
    const analysis = await analyseError({ errorType: error.exception.type, message: error.exception.value, frames: error.frames, read: (path) => repo.readFile(at, path), listFiles: () => repo.listFiles(at) });
    const patterns: readonly PatternState[] = analysis.localisation.sites.length > 0 ? await this.deps.ledger.patterns() : [];
    return { kind: 'analysed', repository: request.repository, commit: at, analysis, patterns };
  }
}

/** Memoises one value per key, for the attempts of one command. */
function memo<T>(): (key: string, compute: () => Promise<T>) => Promise<T> {
  const values = new Map<string, Promise<T>>();
  return (key, compute) => {
    let value = values.get(key);
    if (!value) values.set(key, (value = compute()));
    return value;
  };
}
