import { foldEvents, isEvent, patchIdSchema, type AntibodyEvent, type EventData, type Fold, type IncidentId, type PatchId, type ServiceName } from '@antibody/contracts';
// Runs rollouts so that they survive a deployer restart and several deployer instances:
// - each running rollout is driven by exactly one instance, which holds a Postgres advisory lock
//   (per incident stream) on a dedicated connection for as long as it drives it; a crash frees it;
// - a projection (`deployer_rollouts`, fed by a store subscription) lists the rollouts in progress;
//   at start and every `resumeScanMs` each instance takes over the ones nobody drives, rebuilding
//   the judge's state from the incident stream (RolloutStarted / StageAdvanced record it);
// - a person's rejection (DecisionRecorded) is read from the stream before every observation, so
//   it stops the rollout whichever instance drives it.
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { appendTraced, handleCommand } from '@antibody/bus';
import { quoteSchema, subscribe, type EventStore, type ExpectedVersion, type Subscription } from '@antibody/event-store';
import type { PoolClient } from 'pg';
import { underCare, type IncidentState, type JudgeConfig, type JudgeEvent, type JudgeState, type ServiceRegistration } from '@antibody/domain';
import { escalate, incidentFoldJudgedBy } from '../domain/incident';
import { decideRecordRollout } from '../domain/record-rollout';
import type { DeployAdapter } from './deploy-adapter';
import type { Notifier } from './notifier';
import { runRollout } from './rollout-runner';
import { adapterFor, readService, type RolloutSubject } from './service-registry';

/** A typed failure to start a rollout; the caller escalates or retries. */
export class RolloutError extends Error {
  override readonly name = 'RolloutError';
  constructor(
    readonly code: 'BUSY' | 'ALREADY_STARTED' | 'ADAPTER_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RolloutManagerOptions {
  readonly store: EventStore;
  readonly judge: JudgeConfig;
  readonly observeEveryMs: number;
  readonly resumeScanMs: number;
  /** A started canary whose RolloutStarted is not visible by then is rolled back (default 60 s). */
  readonly startRecordTimeoutMs: number;
  readonly notifier: Notifier;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Builds the adapter of a rollout (default: from the service registration). */
  readonly adapterFor?: typeof adapterFor;
  readonly now?: () => number;
}

/** What a new rollout needs. */
export interface StartRollout {
  readonly streamId: string;
  readonly incidentId: IncidentId;
  readonly service: ServiceName;
  readonly patchId: PatchId;
  readonly release: string;
  readonly adapter: DeployAdapter;
  /** The event that caused it (PatchValidated or an approving DecisionRecorded). */
  readonly causationId: string;
}

interface Running {
  readonly halt: AbortController;
  readonly done: Promise<void>;
}

const LOCK_CLASS = 0x6162; // "ab": the advisory-lock namespace of deployer rollouts

export class RolloutManager {
  private readonly log = new Logger('rollouts');
  private readonly running = new Map<string, Running>();
  private subscription: Subscription | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly producer = { service: 'deployer', instance: hostname() };
  private readonly fold: Fold<IncidentState>;

  constructor(private readonly options: RolloutManagerOptions) {
    this.fold = incidentFoldJudgedBy(options.judge);
  }

  /** The incident stream, folded, with its version. */
  private async incident(streamId: string): Promise<{ state: IncidentState; version: number }> {
    const stream = await this.options.store.readStream(streamId);
    return { state: foldEvents(this.fold, stream.events), version: stream.currentVersion };
  }

  private get table(): string {
    return `${quoteSchema(this.options.store.schema)}.deployer_rollouts`;
  }

  /** Creates the projection table, starts its subscription, resumes orphaned rollouts, and keeps scanning. */
  async start(): Promise<void> {
    const { store } = this.options;
    await store.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table} (stream_id text PRIMARY KEY, patch_id text NOT NULL, release text NOT NULL, status text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    this.subscription = subscribe(
      store,
      'deployer-rollouts',
      async (events, client) => {
        for (const e of events.filter(isEvent('RolloutStarted', 'RolledBack', 'RolloutCompleted'))) {
          const status = e.type === 'RolloutStarted' ? 'running' : e.type === 'RolloutCompleted' ? 'completed' : 'rolled-back';
          const release = e.type === 'RolledBack' ? '' : e.data.release;
          await client.query(
            `INSERT INTO ${this.table} (stream_id, patch_id, release, status) VALUES ($1, $2, $3, $4)
             ON CONFLICT (stream_id) DO UPDATE SET patch_id = EXCLUDED.patch_id, release = CASE WHEN EXCLUDED.release = '' THEN ${this.table}.release ELSE EXCLUDED.release END, status = EXCLUDED.status, updated_at = now()`,
            [e.streamId, e.data.patchId, release, status],
          );
        }
      },
      { types: ['RolloutStarted', 'RolledBack', 'RolloutCompleted'], onError: (error) => this.log.warn(`rollout projection: ${(error as Error).message}`) },
    );
    await this.subscription.caughtUp({ timeoutMs: 60_000 }).catch((error: Error) => this.log.warn(`rollout projection not caught up yet: ${error.message}`));
    await this.scan();
    this.scanTimer = setInterval(() => void this.scan(), this.options.resumeScanMs);
    this.scanTimer.unref();
  }

  /**
   * Leaves every rollout loop this instance drives *without* touching the traffic and frees their
   * locks: another instance (or this one, restarted) resumes them from the incident streams.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.scanTimer);
    const loops = [...this.running.values()];
    for (const r of loops) r.halt.abort();
    await Promise.all(loops.map((r) => r.done));
    await this.subscription?.stop();
  }

  /** The deploy adapter of a rollout, as the service's registration names it. */
  adapterFor(deploy: ServiceRegistration['deploy'], subject: RolloutSubject): DeployAdapter {
    return (this.options.adapterFor ?? adapterFor)(deploy, subject, { store: this.options.store, producer: this.producer, env: this.options.env });
  }

  /** Incident streams whose rollout this instance drives now. */
  driving(): string[] {
    return [...this.running.keys()];
  }

  /** Takes over every rollout in progress that no instance drives. Errors are logged, never thrown. */
  async scan(): Promise<void> {
    if (this.stopped) return;
    try {
      const rows = await this.options.store.pool.query<{ stream_id: string }>(`SELECT stream_id FROM ${this.table} WHERE status = 'running' ORDER BY updated_at`);
      for (const { stream_id: streamId } of rows.rows) {
        if (this.stopped) return;
        if (!this.running.has(streamId)) await this.resume(streamId).catch((error: Error) => this.log.warn(`could not resume the rollout of ${streamId}: ${error.message}`));
      }
    } catch (error) {
      this.log.warn(`rollout scan failed: ${(error as Error).message}`);
    }
  }

  private async lock(streamId: string): Promise<PoolClient | undefined> {
    const client = await this.options.store.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, streamId]);
      if (rows[0]?.ok) return client;
      client.release();
      return undefined;
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }

  private async unlock(client: PoolClient, streamId: string): Promise<void> {
    try {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, streamId]);
      client.release();
    } catch (error) {
      // A broken connection frees its locks anyway.
      client.release(error as Error);
    }
  }

  /**
   * Starts a rollout: the canary started and its first stage set, then it returns the data of the
   * RolloutStarted event for the caller to record (a handler records it with its own effects, in
   * its transaction). The judged stages run in the background, from the moment that event is
   * visible in the stream; if it never becomes visible (the caller failed) the canary is rolled
   * back unrecorded after `startRecordTimeoutMs`. Throws RolloutError BUSY when another instance
   * holds the incident, ALREADY_STARTED when the patch already has a rollout, ADAPTER_FAILED when
   * the canary could not be started (the adapter was told to roll back).
   */
  async startRollout(input: StartRollout): Promise<EventData<'RolloutStarted'>> {
    const lock = await this.lock(input.streamId);
    if (!lock) throw new RolloutError('BUSY', `another deployer instance is working on ${input.streamId}`);
    let handedOver = false;
    try {
      const previous = (await this.incident(input.streamId)).state.rollout;
      if (previous && previous.patchId === input.patchId) throw new RolloutError('ALREADY_STARTED', `patch ${input.patchId} already has a rollout (${previous.status})`);
      const judge = this.options.judge;
      let markStarted!: (data: EventData<'RolloutStarted'>) => void;
      let failStart!: (error: unknown) => void;
      const started = new Promise<EventData<'RolloutStarted'>>((resolve, reject) => {
        markStarted = resolve;
        failStart = reject;
      });
      const halt = new AbortController();
      const since = Date.now();
      let recorded = false;
      const loop = runRollout({
        adapter: input.adapter,
        judge,
        release: input.release,
        observeEveryMs: this.options.observeEveryMs,
        now: this.options.now,
        halt: halt.signal,
        onEvents: async (events) => {
          const first = events[0];
          if (first?.type !== 'RolloutStarted') return this.record(input, events);
          const { stages: _stages, ...settings } = judge;
          markStarted({ patchId: input.patchId, release: input.release, stages: [...judge.stages], at: new Date(first.at).toISOString(), baseline: first.snapshot, judge: settings });
        },
        checkStop: async () => {
          if (!recorded) {
            const { events } = await this.options.store.readStream(input.streamId);
            recorded = events.filter(isEvent('RolloutStarted')).some((e) => e.data.patchId === input.patchId);
            if (!recorded) {
              if (Date.now() - since > this.options.startRecordTimeoutMs) {
                this.log.error(`RolloutStarted of ${input.release} was never recorded: rolling the canary back, unrecorded`);
                await input.adapter.rollback('the start of this rollout was never recorded').catch(() => undefined);
                halt.abort();
              }
              return 'wait';
            }
          }
          return this.rejection(input.streamId, input.patchId);
        },
      });
      loop.then(() => failStart(new RolloutError('ADAPTER_FAILED', 'the rollout ended before it started')), failStart);
      const data = await started.catch(async (error: unknown) => {
        await input.adapter.rollback('the canary could not be started').catch(() => undefined);
        if (error instanceof RolloutError) throw error;
        throw new RolloutError('ADAPTER_FAILED', `the canary of ${input.release} could not be started: ${(error as Error).message}`, { cause: error });
      });
      handedOver = true;
      this.track(input.streamId, lock, halt, loop);
      return data;
    } finally {
      if (!handedOver) await this.unlock(lock, input.streamId);
    }
  }

  private track(streamId: string, lock: PoolClient, halt: AbortController, loop: Promise<JudgeState>): void {
    const done = loop
      .then(
        (state) => this.log.log(`rollout of ${streamId} ${state.status === 'running' ? 'left running (deployer stopping)' : state.status}`),
        (error: Error) => this.log.error(`rollout of ${streamId} failed: ${error.message}`),
      )
      .finally(async () => {
        this.running.delete(streamId);
        await this.unlock(lock, streamId);
      });
    this.running.set(streamId, { halt, done });
  }

  /** Resumes one recorded rollout if nobody drives it (holds its lock while it runs). */
  private async resume(streamId: string): Promise<void> {
    const lock = await this.lock(streamId);
    if (!lock) return;
    let handedOver = false;
    try {
      const stream = await this.options.store.readStream(streamId);
      const state = foldEvents(this.fold, stream.events);
      const view = state.rollout;
      if (!view || view.status === 'rolled-back' || view.status === 'completed') return;
      const opened = state.opened;
      const cause = stream.events.filter(isEvent('RolloutStarted')).pop();
      if (!opened || !cause) return;
      const registration = underCare(await readService(this.options.store, opened.service));
      const subject = { service: opened.service, incidentId: opened.incidentId, patchId: patchIdSchema.parse(view.patchId), release: view.release };
      if (!registration || registration.deploy.adapter === 'none') {
        const decision = escalate(state, `the rollout of ${view.release} cannot be resumed: service ${opened.service} no longer has a deploy adapter`);
        if (decision.kind === 'append') await this.append(streamId, opened.incidentId, cause.eventId, decision.events, stream.currentVersion);
        return;
      }
      const adapter = this.adapterFor(registration.deploy, subject);
      const full: StartRollout = { ...subject, streamId, adapter, causationId: cause.eventId };
      if (view.status === 'unresumable') {
        await adapter.rollback(view.reason).catch((error: Error) => this.log.error(`rollback of ${view.release} failed: ${error.message}`));
        const evidence = { errorRate: { baseline: 0, canary: 0 } };
        await this.record(full, [], { patchId: full.patchId, reason: `resumed after a restart, but ${view.reason}: rolled back rather than promoted unjudged`, stage: view.judge.stages[0] as number, cause: 'aborted', evidence });
        return;
      }
      if (view.status !== 'running') return;
      const live = view;
      this.log.log(`resuming the rollout of ${view.release} (${streamId}) at ${view.judge.stages[view.state.stageIndex]}%`);
      const halt = new AbortController();
      const loop = runRollout({
        adapter,
        judge: view.judge,
        release: view.release,
        observeEveryMs: this.options.observeEveryMs,
        now: this.options.now,
        halt: halt.signal,
        resume: view.state,
        onEvents: (events) => this.record(full, events),
        checkStop: async () => (live.rejection ? { reason: rejectionReason(live.rejection), cause: 'rejected' } : this.rejection(streamId, live.patchId)),
      });
      handedOver = true;
      this.track(streamId, lock, halt, loop);
    } finally {
      if (!handedOver) await this.unlock(lock, streamId);
    }
  }

  /** A rejection of this patch recorded in the stream, as a stop request. */
  private async rejection(streamId: string, patchId: string) {
    const view = (await this.incident(streamId)).state.rollout;
    if (view?.status === 'running' && view.patchId === patchId && view.rejection) return { reason: rejectionReason(view.rejection), cause: 'rejected' as const };
    return undefined;
  }

  private append(streamId: string, incidentId: string, causationId: string, events: readonly AntibodyEvent[], expectedVersion: ExpectedVersion) {
    return appendTraced(this.options.store, streamId, events, { producer: this.producer, correlationId: incidentId, causationId, expectedVersion });
  }

  /**
   * Records the contract events of one judge decision in one append at the stream's version, with
   * what follows a rollback (domain/record-rollout: DiagnosisRequested when the judge found the
   * patch bad, IncidentEscalated when a person rejected it or the rollout was aborted). Then notifies.
   */
  private async record(input: Omit<StartRollout, 'adapter'>, events: readonly JudgeEvent[], rolledBack?: EventData<'RolledBack'>): Promise<void> {
    const outcome = await handleCommand(
      { store: this.options.store, streamId: input.streamId, fold: this.fold, append: (out, version) => this.append(input.streamId, input.incidentId, input.causationId, out, version) },
      (state) => decideRecordRollout({ patchId: input.patchId, release: input.release, events, ...(rolledBack ? { rolledBack } : {}) }, state),
    );
    if (outcome.kind === 'ignored') {
      if (events.length > 0 || rolledBack) this.log.warn(`nothing recorded for the rollout of ${input.release}: ${outcome.because}`);
      return;
    }
    const { notifier } = this.options;
    for (const e of outcome.events) {
      if (e.type === 'RolledBack') await notifier.notify({ kind: 'rolled-back', incidentId: input.incidentId, service: input.service, title: `Rolled back ${input.release}`, details: `${e.data.reason} (${e.data.cause ?? 'unknown cause'})` });
      if (e.type === 'RolloutCompleted') await notifier.notify({ kind: 'rolled-out', incidentId: input.incidentId, service: input.service, title: `Rolled out ${input.release}`, details: 'the fix serves all traffic' });
    }
  }
}

function rejectionReason(r: { by: string; comment?: string }): string {
  return `rejected by ${r.by}${r.comment ? `: ${r.comment}` : ''}`;
}
