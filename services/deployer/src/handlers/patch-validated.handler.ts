// PatchValidated -> the fix as code (branch, commit, push, PR), then per the service's policy either
// a proposal (notification) or an automatic rollout judged by the canary judge.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { appendTraced, type HandlerContext } from '@antibody/bus';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import { type Evidence, type JudgeConfig, type JudgeEvent } from '../domain/judge';
import { FleetAdapter, parseCounts, type DeployAdapter } from '../infrastructure/deploy-adapter';
import { commitFix, openPullRequest, type PullRequestTarget } from '../infrastructure/fix-as-code';
import { Notifier } from '../infrastructure/notifier';
import { runRollout } from '../infrastructure/rollout-runner';
import { WebhookAdapter } from '../infrastructure/webhook-adapter';

/** Settings the deployer needs, injected by the module from its configuration. */
export const DEPLOYER_SETTINGS = Symbol('DEPLOYER_SETTINGS');
export interface DeployerSettings {
  readonly judge: JudgeConfig;
  readonly observeEveryMs: number;
  readonly notifier: Notifier;
  readonly env: Readonly<Record<string, string | undefined>>;
}

type Json = Record<string, unknown>;

/** Maps the judge's evidence onto the contract's `canaryEvidence`. */
export function contractEvidence(e: Evidence) {
  return { errorRate: e.errorRate, stage: e.stage, stageElapsedMs: Math.max(0, Math.round(e.stageElapsedMs)), counts: { canary: e.canary, stable: e.stable }, logEValue: e.logEValue, logThreshold: e.logThreshold, srmZ: e.srmZ };
}

@Injectable()
export class PatchValidatedHandler {
  private readonly log = new Logger('deployer');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DEPLOYER_SETTINGS) private readonly settings: DeployerSettings,
  ) {}

  @OnEvent('PatchValidated', { name: 'fix-as-code' })
  async onPatchValidated(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const { patchId } = event.data as { patchId: string };
    const incident = await this.store.readStream(event.streamId);
    const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as { incidentId: string; service: string } | undefined;
    const proposal = incident.events.find((e) => e.type === 'PatchProposed' && (e.data as Json).patchId === patchId)?.data as { diff: string; rationale: string } | undefined;
    const escalate = (reason: string) => ctx.emit(event.streamId, [{ type: 'IncidentEscalated', data: { reason, step: 'rollout' } }]);
    if (!opened || !proposal) return void (await escalate(`patch ${patchId} was validated but its incident or proposal is missing from ${event.streamId}`));
    const service = await this.store.readStream(`service-${opened.service}`);
    let registration: Json | undefined;
    let policy: Json | undefined;
    for (const e of service.events) {
      if (e.type === 'ServiceRegistered') [registration, policy] = [e.data as Json, (e.data as Json).policy as Json];
      if (e.type === 'ServicePolicyChanged') policy = (e.data as Json).policy as Json;
    }
    if (!registration || !policy) return void (await escalate(`service ${opened.service} is not registered: nowhere to commit the fix`));
    const repository = registration.repository as { url: string; defaultBranch: string };
    const deploy = registration.deploy as { adapter: 'fleet' | 'webhook' | 'none'; settings: Json };
    if (!existsSync(repository.url)) return void (await escalate(`repository ${repository.url} is not a local clone on this host; the deployer commits in a local clone`));
    const validated = event.data as { tests: { status: string }[]; reproduction: { status: string } };
    const passed = validated.tests.filter((t) => t.status === 'passed').length;
    let fix;
    let pullRequestUrl: string | undefined;
    try {
      fix = await commitFix({
        repository: repository.url,
        baseBranch: repository.defaultBranch,
        remote: typeof deploy.settings.remote === 'string' ? deploy.settings.remote : 'origin',
        incidentId: opened.incidentId,
        patchId,
        diff: proposal.diff,
        title: `fix: ${proposal.rationale.split('\n')[0]?.slice(0, 72)}`,
        evidence: [`${passed} of ${validated.tests.length} tests passed`, `reproduction: ${validated.reproduction.status}`, `incident: ${opened.incidentId}`],
      });
      const target = this.pullRequestTarget(deploy.settings.pullRequest as Json | undefined);
      if (target) pullRequestUrl = await openPullRequest(target, { branch: fix.branch, baseBranch: repository.defaultBranch, title: fix.message.split('\n')[0] ?? 'fix', body: fix.message });
    } catch (error) {
      return void (await escalate(`the fix could not be committed: ${(error as Error).message}`));
    }
    await ctx.emit(event.streamId, [{ type: 'FixCommitted', data: { patchId, branch: fix.branch, commitSha: fix.commitSha, ...(pullRequestUrl ? { pullRequestUrl } : {}) } }]);
    const auto = policy.autoDeploy === true && deploy.adapter !== 'none';
    if (!auto) {
      await this.settings.notifier.notify({ kind: 'fix-proposed', incidentId: opened.incidentId, service: opened.service, title: `Fix proposed for ${opened.service}`, details: `branch ${fix.branch}, ${passed} tests passed`, url: pullRequestUrl });
      return;
    }
    const release = `${opened.service}@${fix.commitSha.slice(0, 12)}`;
    const adapter = this.adapterFor(deploy, opened.incidentId, patchId, opened.service);
    await ctx.emit(event.streamId, [{ type: 'RolloutStarted', data: { patchId, release, stages: [...this.settings.judge.stages] } }]);
    // The rollout outlives this delivery: its events are appended as they happen, caused by this event.
    void runRollout({ adapter, judge: this.settings.judge, release, observeEveryMs: this.settings.observeEveryMs, onEvent: (e) => this.record(event, patchId, release, opened, e) }).catch((error: Error) =>
      this.log.error(`rollout of ${release} failed: ${error.message}`),
    );
  }

  private async record(cause: StoredEvent, patchId: string, release: string, opened: { incidentId: string; service: string }, e: JudgeEvent): Promise<void> {
    const append = (type: 'StageAdvanced' | 'RolledBack' | 'RolloutCompleted', data: Json) =>
      appendTraced(this.store, cause.streamId, [{ type, data }], { producer: { service: 'deployer', instance: hostname() }, correlationId: opened.incidentId, causationId: cause.eventId });
    if (e.type === 'StageAdvanced') await append('StageAdvanced', { patchId, stage: e.to, evidence: contractEvidence(e.evidence) });
    if (e.type === 'RolledBack') {
      await append('RolledBack', { patchId, reason: e.reason, stage: e.stage, cause: e.cause, evidence: contractEvidence(e.evidence), trace: e.trace.map(contractEvidence) });
      await this.settings.notifier.notify({ kind: 'rolled-back', incidentId: opened.incidentId, service: opened.service, title: `Rolled back ${release}`, details: e.reason });
    }
    if (e.type === 'RolloutCompleted') {
      await append('RolloutCompleted', { patchId, release, evidence: contractEvidence(e.evidence), trace: e.trace.map(contractEvidence) });
      await this.settings.notifier.notify({ kind: 'rolled-out', incidentId: opened.incidentId, service: opened.service, title: `Rolled out ${release}`, details: 'the fix serves all traffic' });
    }
  }

  private pullRequestTarget(s: Json | undefined): PullRequestTarget | undefined {
    if (!s) return undefined;
    const token = this.settings.env[String(s.tokenEnv ?? '')] ?? '';
    if (s.kind === 'github') return { kind: 'github', baseUrl: String(s.baseUrl ?? 'https://api.github.com'), owner: String(s.owner), repo: String(s.repo), token };
    if (s.kind === 'gitlab') return { kind: 'gitlab', baseUrl: String(s.baseUrl ?? 'https://gitlab.com'), projectId: String(s.projectId), token };
    return undefined;
  }

  private adapterFor(deploy: { adapter: string; settings: Json }, incidentId: string, patchId: string, service: string): DeployAdapter {
    const s = deploy.settings;
    if (deploy.adapter === 'fleet') {
      const releasesDir = String(s.releasesDir ?? '');
      return new FleetAdapter(String(s.controlUrl), (release) => `${releasesDir}/${release}/${String(s.entry ?? 'server.js')}`);
    }
    const countsUrl = String(s.countsUrl ?? '');
    return new WebhookAdapter({
      url: String(s.url),
      secret: this.settings.env[String(s.secretEnv ?? '')] ?? '',
      service,
      incidentId,
      patchId,
      readCounts: async () => parseCounts(await (await fetch(countsUrl)).json()),
    });
  }
}

