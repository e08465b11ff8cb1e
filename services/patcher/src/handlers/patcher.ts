import { foldEvents, type AntibodyEvent, type Decision } from '@antibody/contracts';
import { handleCommand, type CommandOutcome } from '@antibody/bus';
import { deterministicEventId, type AppendResult, type EventStore, type ExpectedVersion } from '@antibody/event-store';
import { incidentFold, serviceFold, type IncidentState } from '@antibody/domain';
import { isPatchableFile, typeProject, type FixSite, type LlmSettings, type ModelReply, type ModelRequest } from '@antibody/fix-kit';
import { readProject, type FixLedger, type GitRepository } from '@antibody/fix-io';
import { decidePatch, type PatchCommand, type ReadSites, type SiteFacts } from '../domain/decide';
import type { PatchEvent } from '../domain/patching';

export interface PatcherDeps {
  readonly store: EventStore;
  readonly ledger: Pick<FixLedger, 'patterns'>;
  readonly llm: LlmSettings;
  readonly openRepository: (location: string) => GitRepository;
  /** Pays a model for a pipeline's request (fix-io's `modelCaller`: spend from the ledger, the gated call). */
  readonly askModel: (request: ModelRequest) => Promise<ModelReply>;
  /** Candidates proposed per incident (default 5). */
  readonly maxCandidates?: number;
  /** Source files read at the commit for the type check of candidates (default 200). */
  readonly typeCheckMaxFiles?: number;
}

/**
 * Runs the patcher's decider ({@link decidePatch}) against an incident's stream: it reads the
 * service's stream, and when the decider asks, the diagnosed files at the commit (git) with the
 * pattern library (the ledger), and a model's reply. Those facts are memoised for the command, so
 * when the append meets a newer stream version and the decision is taken again, neither git nor
 * the model is asked twice.
 */
export class Patcher {
  constructor(private readonly deps: PatcherDeps) {}

  /** Decides on the DiagnosisMade `diagnosisId` and appends the decision to `streamId` at the version it was decided at. */
  handle(diagnosisId: string, streamId: string, append: (events: readonly AntibodyEvent[], expectedVersion: ExpectedVersion) => Promise<AppendResult>): Promise<CommandOutcome<PatchEvent>> {
    return handleCommand<IncidentState, PatchEvent>({ store: this.deps.store, streamId, fold: incidentFold, append }, this.decider(diagnosisId));
  }

  /** What would be decided on the diagnosis now, without appending. */
  async decide(diagnosisId: string, streamId: string): Promise<Decision<PatchEvent>> {
    return this.decider(diagnosisId)(foldEvents(incidentFold, (await this.deps.store.readStream(streamId)).events));
  }

  private decider(diagnosisId: string): (state: IncidentState) => Promise<Decision<PatchEvent>> {
    let code: Promise<SiteFacts> | undefined;
    const replies = new Map<string, Promise<ModelReply>>();
    return async (state) => {
      const service = state.opened ? foldEvents(serviceFold, (await this.deps.store.readStream(`service-${state.opened.service}`)).events) : serviceFold.initialState();
      let command: PatchCommand = {
        diagnosisId,
        service,
        llm: this.deps.llm,
        ...(this.deps.maxCandidates !== undefined ? { maxCandidates: this.deps.maxCandidates } : {}),
        patchIdBase: (k) => deterministicEventId(diagnosisId, 'patcher.patch-id', k),
      };
      for (;;) {
        const decision = decidePatch(command, state);
        if (decision.kind === 'read-sites') {
          code ??= this.readSites(decision);
          command = { ...command, code: await code };
        } else if (decision.kind === 'ask-model') {
          const key = JSON.stringify(decision.request.messages);
          if (!replies.has(key)) replies.set(key, this.deps.askModel(decision.request));
          command = { ...command, reply: await replies.get(key)! };
        } else return decision;
      }
    };
  }

  /** The diagnosed files at the commit, and the patterns as projected (a pattern learned moments ago is only missed once). */
  private async readSites(request: ReadSites): Promise<SiteFacts> {
    const repo = this.deps.openRepository(request.repository);
    const commit = request.commit ?? (await repo.resolveCommit(request.ref));
    if (!commit) return { kind: 'unreadable', reason: `the diagnosed code's commit cannot be found in ${request.repository}` };
    const sites: FixSite[] = [];
    for (const s of request.sites) {
      const source = await repo.readFile(commit, s.file);
      if (source !== undefined) sites.push({ file: s.file, source, line: s.line, ...(s.function ? { function: s.function } : {}), ...(s.suspect ? { suspect: s.suspect } : {}), weight: s.weight });
    }
    if (sites.length === 0) return { kind: 'unreadable', reason: `none of the diagnosed files exist at ${commit.slice(0, 12)}` };
    // The type check reads the sites' tsconfig and imports at the same commit (bounded); a candidate only ever edits these files.
    const changed = new Map(sites.filter((s) => isPatchableFile(s.file)).map((s) => [s.file, s.source] as const));
    const types = changed.size > 0 ? typeProject(await readProject(repo, commit, changed, { ...(this.deps.typeCheckMaxFiles !== undefined ? { maxFiles: this.deps.typeCheckMaxFiles } : {}) })) : undefined;
    return { kind: 'read', commit, sites, patterns: await this.deps.ledger.patterns(), ...(types ? { types } : {}) };
  }
}
