// PatchValidated / PatchRejected -> the verdict that settles the round's fix commits it as code
// (branch, commit, push, PR) and records FixCommitted; the verdict that leaves every candidate of
// the round rejected records IncidentEscalated (step `validation`) naming each rejection;
// FixCommitted -> per the service's policy an automatic rollout or a proposal (notification; a
// person approves with `antibody approve`);
// DecisionRecorded -> approve starts the rollout of the committed fix, reject ends it.
// Each handler gathers facts, runs the pure decision of domain/ and appends what it decided through
// handleCommand, at the version of the stream it decided on.
import { existsSync } from 'node:fs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { handleCommand, type CommandOutcome, type HandlerContext, type HandleCommandOptions } from '@antibody/bus';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { ignore, type AntibodyEvent, type JsonValue, type RecordedEvent } from '@antibody/contracts';
import { currentRound, underCare, type IncidentState, type JudgeConfig, type ServiceState } from '@antibody/domain';
import { decideCommit, type CommitFacts, type CommitRequest } from '../domain/commit-fix';
import { decideRejectedRound } from '../domain/rejected-round';
import { incidentAt, incidentFoldJudgedBy } from '../domain/incident';
import { decidePersonDecision, decideRollOut, decideRolloutStarted, type ProposeFix, type RolloutStartOutcome, type StartRolloutRequest } from '../domain/start-rollout';
import { commitFix, openPullRequest, type PullRequestTarget } from '../infrastructure/fix-as-code';
import type { Notifier } from '../infrastructure/notifier';
import { RolloutError, RolloutManager } from '../infrastructure/rollouts';
import { readService } from '../infrastructure/service-registry';

export { releaseName } from '../domain/incident';

/** Settings the deployer needs, injected by the module from its configuration. */
export const DEPLOYER_SETTINGS = Symbol('DEPLOYER_SETTINGS');
export interface DeployerSettings {
  readonly judge: JudgeConfig;
  readonly observeEveryMs: number;
  readonly resumeScanMs: number;
  readonly notifier: Notifier;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** One memo per delivery: a version conflict decides again, but never pays for a fact twice. */
function once<K, V>(load: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const memo = new Map<K, Promise<V>>();
  return (key) => {
    let value = memo.get(key);
    if (!value) memo.set(key, (value = load(key)));
    return value;
  };
}

@Injectable()
export class PatchValidatedHandler {
  private readonly log = new Logger('deployer');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DEPLOYER_SETTINGS) private readonly settings: DeployerSettings,
    private readonly rollouts: RolloutManager,
  ) {}

  /**
   * Every verdict may settle which candidate of the round is the fix (the incident fold's
   * `Round.chosen`); exactly one verdict settles it, so the fix is committed once whatever order the
   * validator finishes in, and the other verdicts do nothing. What follows (proposal or rollout)
   * starts from the recorded FixCommitted, in a delivery of its own: this one's transaction may hold
   * uncommitted events, so a notice sent from here could announce a fix not yet (or never) recorded.
   * Anything that cannot be done appends IncidentEscalated (step `rollout`).
   *
   * The verdict that leaves every candidate rejected is settled by the same fold
   * (`Round.noneValidated`), so its escalation (step `validation`) is decided here too: this consumer
   * already sees every verdict in stream order and reads the stream the rule needs, and a verdict
   * settles either the fix or "all rejected", never both. A consumer of its own would read every
   * verdict's stream a second time and, new, would start from position 0 and escalate old incidents.
   */
  @OnEvent(['PatchValidated', 'PatchRejected', 'PatchUnproven'], { name: 'fix-as-code' })
  async onVerdict(event: RecordedEvent<'PatchValidated' | 'PatchRejected' | 'PatchUnproven'>, ctx: HandlerContext): Promise<void> {
    const services = once((name: string) => this.service(name));
    const commit = once((request: CommitRequest) => this.commit(request));
    const command = { verdictId: event.eventId, streamId: event.streamId };
    const outcome = await handleCommand(this.command(event.streamId, ctx), async (state) => {
      let facts: CommitFacts = {};
      // Whether an unproven fix goes out as a pull request is the service's policy: read it only for the verdict that left the round without a validated fix.
      const opened = state.opened;
      if (opened && currentRound(state)?.noneValidated?.settledBy === event.eventId) facts = await services(opened.service);
      const rejected = decideRejectedRound(command, state, { proposeUnproven: facts.service ? underCare(facts.service)?.policy.unprovenPatches === 'pull-request' : false });
      if (rejected.kind !== 'ignore') return rejected;
      for (;;) {
        const step = decideCommit(command, state, facts);
        if (step.kind === 'read-service') facts = { ...facts, ...(await services(step.service)) };
        else if (step.kind === 'commit') facts = { ...facts, commit: await commit(step) };
        else return step;
      }
    });
    this.logOutcome(event, outcome);
  }

  /**
   * A committed fix is rolled out under an auto-deploy policy, and announced (`fix-proposed`)
   * under a propose-only one, unless its round already moved on.
   */
  @OnEvent('FixCommitted', { name: 'roll-out' })
  async onFixCommitted(event: RecordedEvent<'FixCommitted'>, ctx: HandlerContext): Promise<void> {
    const services = once((name: string) => readService(this.store, name));
    const start = once((request: StartRolloutRequest) => this.startRollout(request, event));
    let proposal: ProposeFix | undefined;
    const outcome = await handleCommand(this.command(event.streamId, ctx), async (state) => {
      proposal = undefined;
      let service: ServiceState | undefined;
      for (;;) {
        const step = decideRollOut({ fixCommitted: event }, state, service ? { service } : {});
        if (step.kind === 'read-service') service = await services(step.service);
        else if (step.kind === 'start-rollout') return decideRolloutStarted(step, await start(step), state);
        else if (step.kind === 'propose') {
          proposal = step;
          return ignore('the fix is proposed: a person approves its rollout');
        } else return step;
      }
    });
    this.logOutcome(event, outcome);
    if (!proposal || outcome.kind !== 'ignored') return;
    const { service, incidentId, branch, passed, pullRequestUrl } = proposal;
    await this.settings.notifier.notify({
      kind: 'fix-proposed',
      incidentId,
      service,
      title: `Fix proposed for ${service}`,
      details: `branch ${branch}, ${passed} tests passed; \`antibody approve ${incidentId}\` rolls it out`,
      url: pullRequestUrl,
    });
  }

  /**
   * `antibody approve`: rolls the committed fix out (even under a propose-only policy — the person
   * is the policy's exception). `antibody reject`: a running rollout of the patch is rolled back by
   * whichever instance drives it (cause `rejected`, then IncidentEscalated); a fix not rolled out
   * ends with IncidentEscalated naming the person and their comment.
   */
  @OnEvent('DecisionRecorded', { name: 'decisions' })
  async onDecision(event: RecordedEvent<'DecisionRecorded'>, ctx: HandlerContext): Promise<void> {
    const services = once((name: string) => readService(this.store, name));
    const start = once((request: StartRolloutRequest) => this.startRollout(request, event));
    const fold = incidentAt(event.streamVersion, incidentFoldJudgedBy(this.settings.judge));
    const outcome = await handleCommand({ ...this.command(event.streamId, ctx), fold }, async (states) => {
      let service: ServiceState | undefined;
      for (;;) {
        const step = decidePersonDecision({ decision: event }, states, service ? { service } : {});
        if (step.kind === 'read-service') service = await services(step.service);
        else if (step.kind === 'start-rollout') return decideRolloutStarted(step, await start(step), states.now);
        else return step;
      }
    });
    this.logOutcome(event, outcome);
  }

  private command(streamId: string, ctx: HandlerContext): HandleCommandOptions<IncidentState> {
    return {
      store: this.store,
      streamId,
      fold: incidentFoldJudgedBy(this.settings.judge),
      append: (events: readonly AntibodyEvent[], expectedVersion) => ctx.emit(streamId, events, { expectedVersion }),
    };
  }

  private logOutcome(event: RecordedEvent, outcome: CommandOutcome): void {
    if (outcome.kind === 'ignored') this.log.debug(`${event.type} ${event.eventId}: nothing to do, ${outcome.because}`);
    else this.log.log(`${event.type} ${event.eventId}: recorded ${outcome.events.map((e) => e.type).join(', ')}`);
  }

  /** The service stream folded, and whether its repository is a local clone on this host. */
  private async service(name: string): Promise<Pick<CommitFacts, 'service' | 'localClone'>> {
    const service = await readService(this.store, name);
    const registration = underCare(service);
    return { service, localClone: registration !== undefined && existsSync(registration.repository.url) };
  }

  /** Commits the fix on its branch, pushes it and opens the pull request the registration asks for. */
  private async commit(request: CommitRequest): Promise<NonNullable<CommitFacts['commit']>> {
    try {
      const fix = await commitFix({
        repository: request.repository.url,
        baseBranch: request.repository.defaultBranch,
        remote: request.remote,
        incidentId: request.incidentId,
        patchId: request.patchId,
        diff: request.diff,
        ...(request.testDiff !== undefined ? { testDiff: request.testDiff } : {}),
        title: request.title,
        evidence: [...request.evidence],
      });
      const target = this.pullRequestTarget(request.pullRequest);
      const pullRequestUrl = target ? await openPullRequest(target, { branch: fix.branch, baseBranch: request.repository.defaultBranch, title: fix.message.split('\n')[0] ?? 'fix', body: fix.message }) : undefined;
      return { ok: true, fix: { branch: fix.branch, commitSha: fix.commitSha, ...(pullRequestUrl ? { pullRequestUrl } : {}) } };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }

  /** Starts the canary; BUSY (another instance holds the incident) is thrown, to retry the delivery later. */
  private async startRollout(request: StartRolloutRequest, cause: RecordedEvent): Promise<RolloutStartOutcome> {
    const { service, incidentId, patchId, release } = request;
    const subject = { service, incidentId, patchId, release };
    try {
      const adapter = this.rollouts.adapterFor(request.deploy, subject);
      // Recorded with this delivery's other effects; the rollout loop waits until it is visible.
      return { kind: 'started', data: await this.rollouts.startRollout({ ...subject, streamId: cause.streamId, adapter, causationId: cause.eventId }) };
    } catch (error) {
      if (error instanceof RolloutError && error.code === 'ALREADY_STARTED') return { kind: 'already-started', reason: error.message };
      if (error instanceof RolloutError && error.code === 'BUSY') throw error; // retried with backoff
      this.log.warn(`rollout of ${release} could not start: ${(error as Error).message}`);
      return { kind: 'failed', reason: (error as Error).message };
    }
  }

  private pullRequestTarget(value: JsonValue | undefined): PullRequestTarget | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const s: { readonly [key: string]: JsonValue | undefined } = value;
    const token = this.settings.env[String(s.tokenEnv ?? '')] ?? '';
    if (s.kind === 'github') return { kind: 'github', baseUrl: String(s.baseUrl ?? 'https://api.github.com'), owner: String(s.owner), repo: String(s.repo), token };
    if (s.kind === 'gitlab') return { kind: 'gitlab', baseUrl: String(s.baseUrl ?? 'https://gitlab.com'), projectId: String(s.projectId), token };
    return undefined;
  }
}
