import { patchIdSchema, type EventData } from '@antibody/contracts';
// PatchValidated -> the fix as code (branch, commit, push, PR), then per the service's policy either
// a proposal (notification; a person approves with `antibody approve`) or, from the recorded
// FixCommitted, an automatic rollout.
// DecisionRecorded -> approve starts the rollout of the committed fix, reject ends it.
import { existsSync } from 'node:fs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import type { JudgeConfig } from '@antibody/domain';
import { fixSettledBy } from '../domain/fix-choice';
import { rolloutFromHistory } from '../domain/rollout-history';
import { commitFix, openPullRequest, type PullRequestTarget } from '../infrastructure/fix-as-code';
import type { Notifier } from '../infrastructure/notifier';
import { RolloutError, RolloutManager } from '../infrastructure/rollouts';
import { readRegistration, type ServiceRegistration } from '../infrastructure/service-registry';

/** Settings the deployer needs, injected by the module from its configuration. */
export const DEPLOYER_SETTINGS = Symbol('DEPLOYER_SETTINGS');
export interface DeployerSettings {
  readonly judge: JudgeConfig;
  readonly observeEveryMs: number;
  readonly resumeScanMs: number;
  readonly notifier: Notifier;
  readonly env: Readonly<Record<string, string | undefined>>;
}

type Json = Record<string, unknown>;

type Opened = Pick<EventData<'IncidentOpened'>, 'incidentId' | 'service'>;

/** After a FixCommitted, any of these means its rollout was started or is no longer wanted. */
const ROUND_ENDS = new Set(['RolloutStarted', 'RolledBack', 'RolloutCompleted', 'IncidentResolved', 'IncidentEscalated', 'DiagnosisRequested', 'IncidentReopened']);

/** The release name of a committed fix: `<service>@<first 12 hex of the commit>`. */
export function releaseName(service: string, commitSha: string): string {
  return `${service}@${commitSha.slice(0, 12)}`;
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
   * Every verdict (PatchValidated or PatchRejected) may settle which candidate of the round is the
   * fix: the best-ranked validated one once every better-ranked one was rejected (domain/fix-choice).
   * Exactly one verdict settles it, judged on the stream up to that verdict, so the fix is committed
   * and rolled out once whatever order the validator finishes in; the other verdicts do nothing.
   */
  @OnEvent(['PatchValidated', 'PatchRejected'], { name: 'fix-as-code' })
  async onVerdict(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const upTo = await this.store.readStream(event.streamId, { toVersion: event.streamVersion });
    const settled = fixSettledBy(upTo.events);
    if (!settled) return;
    await this.commitAndRollOut(settled, event, ctx);
  }

  /**
   * Commits the chosen patch (once: a redelivery reuses the recorded FixCommitted); what follows
   * (proposal or rollout) starts from the recorded FixCommitted. Anything that cannot be done appends IncidentEscalated (step
   * `rollout`); only a transient conflict (another instance holds the incident) throws, to retry.
   */
  private async commitAndRollOut(chosen: StoredEvent, event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const { patchId } = chosen.data as { patchId: string };
    const incident = await this.store.readStream(event.streamId);
    const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as Opened | undefined;
    const proposal = incident.events.find((e) => e.type === 'PatchProposed' && (e.data as Json).patchId === patchId)?.data as { diff: string; rationale: string } | undefined;
    const escalate = (reason: string) => ctx.emit(event.streamId, [{ type: 'IncidentEscalated', data: { reason, step: 'rollout' } }]);
    if (!opened || !proposal) return void (await escalate(`patch ${patchId} was validated but its incident or proposal is missing from ${event.streamId}`));
    const registration = await readRegistration(this.store, opened.service);
    if (!registration) return void (await escalate(`service ${opened.service} is not registered: nowhere to commit the fix`));
    const { repository, deploy } = registration;
    let committed = incident.events.find((e) => e.type === 'FixCommitted' && (e.data as Json).patchId === patchId)?.data as { commitSha: string; branch: string; pullRequestUrl?: string } | undefined;
    const validated = chosen.data as { tests: { status: string }[]; reproduction: { status: string; diff?: string } };
    const passed = validated.tests.filter((t) => t.status === 'passed').length;
    if (!committed) {
      if (!existsSync(repository.url)) return void (await escalate(`repository ${repository.url} is not a local clone on this host; the deployer commits in a local clone`));
      try {
        const fix = await commitFix({
          repository: repository.url,
          baseBranch: repository.defaultBranch,
          remote: typeof deploy.settings.remote === 'string' ? deploy.settings.remote : 'origin',
          incidentId: opened.incidentId,
          patchId,
          diff: proposal.diff,
          // The regression test the validator wrote travels with the fix (it failed before, passes now).
          ...(validated.reproduction.status === 'reproduced' && validated.reproduction.diff ? { testDiff: validated.reproduction.diff } : {}),
          title: `fix: ${proposal.rationale.split('\n')[0]?.slice(0, 72)}`,
          evidence: [`${passed} of ${validated.tests.length} tests passed`, `reproduction: ${validated.reproduction.status}`, `incident: ${opened.incidentId}`],
        });
        const target = this.pullRequestTarget(deploy.settings.pullRequest as Json | undefined);
        const pullRequestUrl = target ? await openPullRequest(target, { branch: fix.branch, baseBranch: repository.defaultBranch, title: fix.message.split('\n')[0] ?? 'fix', body: fix.message }) : undefined;
        committed = { branch: fix.branch, commitSha: fix.commitSha, ...(pullRequestUrl ? { pullRequestUrl } : {}) };
      } catch (error) {
        return void (await escalate(`the fix could not be committed: ${(error as Error).message}`));
      }
      await ctx.emit(event.streamId, [{ type: 'FixCommitted', data: { patchId: patchIdSchema.parse(patchId), ...committed } }]);
    }
    // The rollout, or the fix-proposed notice, follows from the recorded FixCommitted
    // (onFixCommitted), in a delivery of its own: this one's transaction may hold uncommitted events,
    // so a notice sent from here could announce a fix not yet (or never) recorded, and a reader of
    // the store's log (the fleet agent without NATS) would not see the rollout's requests until it commits.
  }

  /**
   * A committed fix is rolled out under an auto-deploy policy, and announced (`fix-proposed`)
   * under a propose-only one, unless its round already moved on.
   */
  @OnEvent('FixCommitted', { name: 'roll-out' })
  async onFixCommitted(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const { patchId, commitSha } = event.data as { patchId: string; commitSha: string };
    const incident = await this.store.readStream(event.streamId);
    const later = incident.events.filter((e) => e.streamVersion > event.streamVersion);
    if (later.some((e) => ROUND_ENDS.has(e.type))) return;
    const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as Opened | undefined;
    if (!opened) return;
    const registration = await readRegistration(this.store, opened.service);
    if (!registration) return;
    if (registration.policy.autoDeploy === true && registration.deploy.adapter !== 'none') {
      return this.startRollout(event, ctx, opened, patchId, commitSha, registration.deploy);
    }
    const { branch, pullRequestUrl } = event.data as { branch: string; pullRequestUrl?: string };
    const validated = incident.events.find((e) => e.type === 'PatchValidated' && (e.data as Json).patchId === patchId)?.data as { tests: { status: string }[] } | undefined;
    const passed = validated?.tests.filter((t) => t.status === 'passed').length ?? 0;
    await this.settings.notifier.notify({
      kind: 'fix-proposed',
      incidentId: opened.incidentId,
      service: opened.service,
      title: `Fix proposed for ${opened.service}`,
      details: `branch ${branch}, ${passed} tests passed; \`antibody approve ${opened.incidentId}\` rolls it out`,
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
  async onDecision(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const decision = event.data as { by: string; decision: 'approve' | 'reject' | 'retry'; step: string; patchId?: string; comment?: string };
    if (decision.step !== 'rollout' || decision.decision === 'retry') return;
    const incident = await this.store.readStream(event.streamId, { toVersion: event.streamVersion });
    const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as Opened | undefined;
    const escalate = (reason: string) => ctx.emit(event.streamId, [{ type: 'IncidentEscalated', data: { reason, step: 'rollout' } }]);
    const fixes = incident.events.filter((e) => e.type === 'FixCommitted').map((e) => e.data as { patchId: string; commitSha: string });
    const patchId = decision.patchId ?? fixes[fixes.length - 1]?.patchId;
    const fix = fixes.find((f) => f.patchId === patchId);
    const rollout = rolloutFromHistory(incident.events, this.settings.judge);
    const ongoing = rollout !== undefined && rollout.patchId === patchId && rollout.status === 'running';
    const comment = decision.comment ? `: ${decision.comment}` : '';
    if (decision.decision === 'reject') {
      if (ongoing) return; // the loop driving it reads the decision before its next observation
      return void (await escalate(`patch ${patchId ?? '(none)'} rejected by ${decision.by}${comment}`));
    }
    if (!opened || !fix || !patchId) return void (await escalate(`${decision.by} approved patch ${patchId ?? '(none)'}, but no committed fix of it is in ${event.streamId}`));
    if (rollout !== undefined && rollout.patchId === patchId) return; // already rolled out (or rolling)
    const registration = await readRegistration(this.store, opened.service);
    if (!registration || registration.deploy.adapter === 'none') {
      return void (await escalate(`${decision.by} approved patch ${patchId}, but service ${opened.service} has no deploy adapter: merge the fix's branch to deploy it`));
    }
    await this.startRollout(event, ctx, opened, patchId, fix.commitSha, registration.deploy);
  }

  private async startRollout(cause: StoredEvent, ctx: HandlerContext, opened: Opened, patchId: string, commitSha: string, deploy: ServiceRegistration['deploy']): Promise<void> {
    const release = releaseName(opened.service, commitSha);
    const subject = { service: opened.service, incidentId: opened.incidentId, patchId: patchIdSchema.parse(patchId), release };
    try {
      const adapter = this.rollouts.adapterFor(deploy, subject);
      const started = await this.rollouts.startRollout({ ...subject, streamId: cause.streamId, adapter, causationId: cause.eventId });
      // Recorded with this delivery's other effects; the rollout loop waits until it is visible.
      await ctx.emit(cause.streamId, [{ type: 'RolloutStarted', data: started }]);
    } catch (error) {
      if (error instanceof RolloutError && error.code === 'ALREADY_STARTED') return;
      if (error instanceof RolloutError && error.code === 'BUSY') throw error; // retried with backoff
      this.log.warn(`rollout of ${release} could not start: ${(error as Error).message}`);
      await ctx.emit(cause.streamId, [{ type: 'IncidentEscalated', data: { reason: `the rollout of ${release} could not start: ${(error as Error).message}`, step: 'rollout' } }]);
    }
  }

  private pullRequestTarget(s: Json | undefined): PullRequestTarget | undefined {
    if (!s) return undefined;
    const token = this.settings.env[String(s.tokenEnv ?? '')] ?? '';
    if (s.kind === 'github') return { kind: 'github', baseUrl: String(s.baseUrl ?? 'https://api.github.com'), owner: String(s.owner), repo: String(s.repo), token };
    if (s.kind === 'gitlab') return { kind: 'gitlab', baseUrl: String(s.baseUrl ?? 'https://gitlab.com'), projectId: String(s.projectId), token };
    return undefined;
  }
}
