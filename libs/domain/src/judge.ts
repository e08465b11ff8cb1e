// The canary judge, as an Emmett-style decider: decide(command, state) -> events, evolve(state, event).
// Pure: the clock arrives in the commands (`at`, epoch ms), the counts are whatever the adapter read.
import { betaBinomialMixtureTest, logMeanExp, rateDifferenceUpperBound, sampleRatioZ } from './sequential-test';

/** Requests, failed requests (5xx or the adapter's error signal) and slow requests of one release. */
export interface ArmCounts {
  readonly requests: number;
  readonly errors: number;
  /** Requests slower than stable's pre-rollout p95 (0 when latency is not judged). */
  readonly slow: number;
}

/** Cumulative counts since the rollout started, per release, as an adapter reads them. */
export interface CountsSnapshot {
  readonly canary: ArmCounts;
  readonly stable: ArmCounts;
}

/** How a rollout is judged. Every duration is in milliseconds. */
export interface JudgeConfig {
  /** Canary traffic percentages in order, strictly increasing, ending at 100. */
  readonly stages: readonly number[];
  /** A stage is never left (advanced) before this much time. */
  readonly minDwellMs: number;
  /** A stage is never advanced before the canary served this many requests in it. */
  readonly minCanaryRequests: number;
  /** A stage still without enough exposure (or still inconclusive) by this time reverts. */
  readonly stageDeadlineMs: number;
  /** Type-I error of the whole rollout: the chance of rolling back a canary that is no worse. */
  readonly alpha: number;
  /** Concentration k of the Beta prior (see betaBinomialMixtureTest). */
  readonly priorConcentration: number;
  /** A canary error rate at or above this (over at least `ceilingMinRequests`) rolls back at once. */
  readonly errorRateCeiling: number;
  readonly ceilingMinRequests: number;
  /** |z| of the request split above which the stage is a sample-ratio mismatch (inconclusive). */
  readonly srmMaxZ: number;
  /** Judge slow-request counts as well as errors. */
  readonly judgeLatency: boolean;
  /**
   * Non-inferiority margin on the error rate (absolute, a fraction of requests): a stage advances only
   * once an anytime-valid bound shows canary error rate − stable error rate below it.
   */
  readonly errorRateMargin: number;
  /** The same margin on the share of slow requests (used when `judgeLatency`). */
  readonly slowShareMargin: number;
  /** The chance of advancing a stage whose canary is worse than stable by more than a margin. */
  readonly promotionAlpha: number;
}

/**
 * Sensible production defaults: 1 -> 5 -> 25 -> 50 -> 100 %, 5 min dwell, alpha 0.05; a stage
 * advances once its canary is shown within 2 points of stable's error rate and 5 points of its
 * slow-request share (at 100 requests/s the 1 % stage takes about 10 minutes to show it).
 */
export const DEFAULT_JUDGE_CONFIG: JudgeConfig = {
  stages: [1, 5, 25, 50, 100],
  minDwellMs: 5 * 60_000,
  minCanaryRequests: 200,
  stageDeadlineMs: 30 * 60_000,
  alpha: 0.05,
  priorConcentration: 50,
  errorRateCeiling: 0.5,
  ceilingMinRequests: 20,
  srmMaxZ: 5,
  judgeLatency: true,
  errorRateMargin: 0.02,
  slowShareMargin: 0.05,
  promotionAlpha: 0.05,
};

/** A typed error for an invalid judge configuration or command. */
export class JudgeError extends Error {
  override readonly name = 'JudgeError';
  constructor(
    readonly code: 'INVALID_CONFIG' | 'NOT_STARTED' | 'ALREADY_STARTED' | 'FINISHED' | 'COUNTS_WENT_BACKWARDS',
    message: string,
  ) {
    super(message);
  }
}

/** Throws JudgeError INVALID_CONFIG naming the first wrong setting. */
export function validateJudgeConfig(config: JudgeConfig): JudgeConfig {
  const fail = (message: string): never => {
    throw new JudgeError('INVALID_CONFIG', message);
  };
  const { stages } = config;
  if (stages.length === 0) fail('stages must not be empty');
  stages.forEach((s, i) => {
    if (!(s > 0 && s <= 100)) fail(`stage ${s} must be a percentage in (0, 100]`);
    if (i > 0 && s <= (stages[i - 1] as number)) fail('stages must be strictly increasing');
  });
  if (stages[stages.length - 1] !== 100) fail('the last stage must be 100');
  if (!(config.alpha > 0 && config.alpha < 1)) fail('alpha must be in (0, 1)');
  if (!(config.minDwellMs >= 0)) fail('minDwellMs must be >= 0');
  if (!(config.stageDeadlineMs > config.minDwellMs)) fail('stageDeadlineMs must exceed minDwellMs');
  if (!(config.minCanaryRequests >= 1)) fail('minCanaryRequests must be >= 1 (never promote on silence)');
  if (!(config.priorConcentration > 0)) fail('priorConcentration must be > 0');
  if (!(config.errorRateCeiling > 0 && config.errorRateCeiling <= 1)) fail('errorRateCeiling must be in (0, 1]');
  if (!(config.srmMaxZ > 0)) fail('srmMaxZ must be > 0');
  if (!(config.errorRateMargin > 0 && config.errorRateMargin < 1)) fail('errorRateMargin must be in (0, 1): a fraction of requests');
  if (!(config.slowShareMargin > 0 && config.slowShareMargin < 1)) fail('slowShareMargin must be in (0, 1): a fraction of requests');
  if (!(config.promotionAlpha > 0 && config.promotionAlpha < 1)) fail('promotionAlpha must be in (0, 1)');
  return config;
}

/** What one decision was based on: carried by StageAdvanced, RolledBack and RolloutCompleted. */
export interface Evidence {
  /** Canary traffic percentage of the stage judged. */
  readonly stage: number;
  readonly stageElapsedMs: number;
  /** Counts within the stage judged. */
  readonly canary: ArmCounts;
  readonly stable: ArmCounts;
  readonly errorRate: { readonly baseline: number; readonly canary: number };
  /** ln e-values, multiplied (summed in log) over the stages so far, this stage included. */
  readonly logEValue: { readonly errors: number; readonly latency: number; readonly combined: number };
  /** ln(1/alpha): rollback when `logEValue.combined` reaches it. */
  readonly logThreshold: number;
  /** Sample-ratio z of this stage's request split. */
  readonly srmZ: number;
  /**
   * Anytime-valid upper bounds (at `promotionAlpha`) on canary rate − stable rate within the stage,
   * for errors and slow requests: the stage advances only when they are below the margins. Present
   * once the dwell and the minimum exposure are met (slow is 0 when latency is not judged).
   */
  readonly worseBy?: { readonly errors: number; readonly slow: number };
}

export type RollbackCause = 'error-regression' | 'latency-regression' | 'error-ceiling' | 'no-evidence-by-deadline' | 'inconclusive-by-deadline' | 'aborted' | 'rejected';

/** Events of the judge. The deployer maps them onto the contract events of the incident stream. */
export type JudgeEvent =
  | { type: 'RolloutStarted'; at: number; stages: readonly number[]; snapshot: CountsSnapshot }
  | { type: 'StageAdvanced'; at: number; from: number; to: number; snapshot: CountsSnapshot; evidence: Evidence }
  | { type: 'RolledBack'; at: number; stage: number; cause: RollbackCause; reason: string; evidence: Evidence; trace: readonly Evidence[] }
  | { type: 'RolloutCompleted'; at: number; evidence: Evidence; trace: readonly Evidence[] };

/** Commands of the judge. `at` is epoch milliseconds from the caller's clock. */
export type JudgeCommand =
  | { type: 'Start'; at: number; snapshot: CountsSnapshot }
  | { type: 'Observe'; at: number; snapshot: CountsSnapshot }
  /** Stops the rollout: `aborted` (adapter failure, default) or `rejected` (a person's decision). */
  | { type: 'Abort'; at: number; snapshot: CountsSnapshot; reason: string; cause?: 'aborted' | 'rejected' };

export type JudgeStatus = 'idle' | 'running' | 'rolled-back' | 'completed';

export interface JudgeState {
  readonly status: JudgeStatus;
  readonly stageIndex: number;
  readonly stageStartedAt: number;
  /** Cumulative counts at the start of the current stage. */
  readonly stageBaseline: CountsSnapshot;
  /** ln e-values of the stages already left (frozen at the time each stage ended). */
  readonly closedLogE: { readonly errors: number; readonly latency: number };
  /** Evidence at each stage change, for the RolledBack / RolloutCompleted trace. */
  readonly trace: readonly Evidence[];
}

const ZERO: ArmCounts = { requests: 0, errors: 0, slow: 0 };

export function initialJudgeState(): JudgeState {
  return {
    status: 'idle',
    stageIndex: 0,
    stageStartedAt: 0,
    stageBaseline: { canary: ZERO, stable: ZERO },
    closedLogE: { errors: 0, latency: 0 },
    trace: [],
  };
}

function minus(a: ArmCounts, b: ArmCounts): ArmCounts {
  const d = { requests: a.requests - b.requests, errors: a.errors - b.errors, slow: a.slow - b.slow };
  if (d.requests < 0 || d.errors < 0 || d.slow < 0) {
    throw new JudgeError('COUNTS_WENT_BACKWARDS', 'counts must be cumulative since the rollout started; they went backwards (an adapter restarted its counters?)');
  }
  return d;
}

function rate(arm: ArmCounts, key: 'errors' | 'slow'): number {
  return arm.requests === 0 ? 0 : Math.min(1, arm[key] / arm.requests);
}

/** The evidence of the current stage at time `at` (pure; exported for reporting holds). */
export function evaluate(state: JudgeState, config: JudgeConfig, at: number, snapshot: CountsSnapshot): Evidence {
  const stage = config.stages[state.stageIndex] as number;
  const canary = minus(snapshot.canary, state.stageBaseline.canary);
  const stable = minus(snapshot.stable, state.stageBaseline.stable);
  const share = stage / 100;
  let errorsLogE = 0;
  let latencyLogE = 0;
  if (share < 1) {
    errorsLogE = betaBinomialMixtureTest(canary.errors, stable.errors, share, config.priorConcentration).logE;
    if (config.judgeLatency) latencyLogE = betaBinomialMixtureTest(canary.slow, stable.slow, share, config.priorConcentration).logE;
  }
  const errors = state.closedLogE.errors + errorsLogE;
  const latency = state.closedLogE.latency + latencyLogE;
  // Two e-processes at level alpha each would double the error; their average is one e-process.
  const combined = config.judgeLatency ? logMeanExp(errors, latency) : errors;
  return {
    stage,
    stageElapsedMs: at - state.stageStartedAt,
    canary,
    stable,
    errorRate: { baseline: rate(stable, 'errors'), canary: rate(canary, 'errors') },
    logEValue: { errors, latency, combined },
    logThreshold: Math.log(1 / config.alpha),
    srmZ: share < 1 ? sampleRatioZ(canary.requests, stable.requests, share) : 0,
    // Only read once the stage may advance: the bounds decide promotion, nothing before it.
    ...(at - state.stageStartedAt >= config.minDwellMs && canary.requests >= config.minCanaryRequests && share < 1 ? { worseBy: worseBy(canary, stable, config) } : {}),
  };
}

function worseBy(canary: ArmCounts, stable: ArmCounts, config: JudgeConfig): { errors: number; slow: number } {
  return {
    errors: rateDifferenceUpperBound({ events: canary.errors, trials: canary.requests }, { events: stable.errors, trials: stable.requests }, config.promotionAlpha),
    slow: config.judgeLatency ? rateDifferenceUpperBound({ events: canary.slow, trials: canary.requests }, { events: stable.slow, trials: stable.requests }, config.promotionAlpha) : 0,
  };
}

/**
 * Decides what a command means for a rollout. Rules, in order:
 * 1. canary error rate at or above the ceiling (with enough requests) -> RolledBack now;
 * 2. sample-ratio mismatch -> hold (inconclusive), reverting at the stage deadline;
 * 3. combined e-value (errors, and slow requests when judged) >= 1/alpha -> RolledBack;
 * 4. minimum dwell and minimum canary exposure met, and the canary shown no worse than stable by more
 *    than the margins (an anytime-valid bound on the difference of rates, errors and slow requests)
 *    -> StageAdvanced (and RolloutCompleted at 100 %); absence of evidence of harm is not enough;
 * 5. stage deadline passed without that -> RolledBack `no-evidence-by-deadline`;
 * otherwise no event (hold).
 * Throws JudgeError on a command the state cannot take (observe before start, after the end...).
 */
export function decide(command: JudgeCommand, state: JudgeState, config: JudgeConfig): JudgeEvent[] {
  if (command.type === 'Start') {
    if (state.status !== 'idle') throw new JudgeError('ALREADY_STARTED', 'the rollout has already started');
    validateJudgeConfig(config);
    const events: JudgeEvent[] = [{ type: 'RolloutStarted', at: command.at, stages: config.stages, snapshot: command.snapshot }];
    return events;
  }
  if (state.status === 'idle') throw new JudgeError('NOT_STARTED', 'the rollout has not started');
  if (state.status !== 'running') throw new JudgeError('FINISHED', `the rollout is already ${state.status}`);
  const evidence = evaluate(state, config, command.at, command.snapshot);
  const { stage } = evidence;
  const rollback = (cause: RollbackCause, reason: string): JudgeEvent[] => [
    { type: 'RolledBack', at: command.at, stage, cause, reason, evidence, trace: [...state.trace, evidence] },
  ];
  if (command.type === 'Abort') return rollback(command.cause ?? 'aborted', command.reason);

  const { canary } = evidence;
  if (canary.requests >= config.ceilingMinRequests && evidence.errorRate.canary >= config.errorRateCeiling) {
    return rollback('error-ceiling', `canary error rate ${pct(evidence.errorRate.canary)} is at or above the ceiling ${pct(config.errorRateCeiling)}`);
  }
  // The test's null is the configured share: with a mismatched split it would compare the wrong
  // things, so a mismatch suspends it (the ceiling above still applies).
  const pastDeadline = evidence.stageElapsedMs >= config.stageDeadlineMs;
  const srm = Math.abs(evidence.srmZ) > config.srmMaxZ;
  if (srm) {
    return pastDeadline
      ? rollback('inconclusive-by-deadline', `sample-ratio mismatch (z = ${evidence.srmZ.toFixed(1)}) until the stage deadline: the split is not ${stage}%`)
      : [];
  }
  if (evidence.logEValue.combined >= evidence.logThreshold) {
    const latencyWorse = evidence.logEValue.latency > evidence.logEValue.errors;
    return latencyWorse
      ? rollback('latency-regression', `canary serves more requests slower than stable's p95 than its share predicts (ln e-value ${evidence.logEValue.combined.toFixed(2)} >= ${evidence.logThreshold.toFixed(2)})`)
      : rollback('error-regression', `canary error rate ${pct(evidence.errorRate.canary)} vs stable ${pct(evidence.errorRate.baseline)}: ln e-value ${evidence.logEValue.combined.toFixed(2)} >= ${evidence.logThreshold.toFixed(2)}`);
  }
  const exposed = evidence.stageElapsedMs >= config.minDwellMs && canary.requests >= config.minCanaryRequests;
  const unproven = unprovenMargins(evidence, config);
  if (exposed && unproven.length === 0) {
    const to = config.stages[state.stageIndex + 1];
    if (to === undefined) return [];
    const advanced: JudgeEvent = { type: 'StageAdvanced', at: command.at, from: stage, to, snapshot: command.snapshot, evidence };
    if (state.stageIndex + 1 === config.stages.length - 1) {
      return [advanced, { type: 'RolloutCompleted', at: command.at, evidence, trace: [...state.trace, evidence] }];
    }
    return [advanced];
  }
  if (pastDeadline) {
    const seconds = Math.round(evidence.stageElapsedMs / 1000);
    return canary.requests < config.minCanaryRequests
      ? rollback('no-evidence-by-deadline', `only ${canary.requests} canary requests in ${seconds} s at ${stage}% (need ${config.minCanaryRequests}): not promoting on silence`)
      : rollback('no-evidence-by-deadline', `${canary.requests} canary requests in ${seconds} s at ${stage}% do not show the canary safe: ${unproven.join('; ')}`);
  }
  return [];
}

/** The margins the evidence does not (yet) show the canary within, each as a sentence. */
function unprovenMargins(evidence: Evidence, config: JudgeConfig): string[] {
  const worseBy = evidence.worseBy ?? { errors: 1, slow: 1 };
  const out: string[] = [];
  if (!(worseBy.errors < config.errorRateMargin)) out.push(`error rate may be up to ${pts(worseBy.errors)} above stable's (margin ${pts(config.errorRateMargin)})`);
  if (config.judgeLatency && !(worseBy.slow < config.slowShareMargin)) out.push(`slow-request share may be up to ${pts(worseBy.slow)} above stable's (margin ${pts(config.slowShareMargin)})`);
  return out;
}

function pts(p: number): string {
  return `${(p * 100).toFixed(2)} points`;
}

/** Applies one judge event to the state. */
export function evolve(state: JudgeState, event: JudgeEvent): JudgeState {
  switch (event.type) {
    case 'RolloutStarted':
      return { ...initialJudgeState(), status: 'running', stageStartedAt: event.at, stageBaseline: event.snapshot };
    case 'StageAdvanced': {
      const frozen = event.evidence.logEValue;
      return {
        ...state,
        stageIndex: state.stageIndex + 1,
        stageStartedAt: event.at,
        stageBaseline: event.snapshot,
        closedLogE: { errors: frozen.errors, latency: frozen.latency },
        trace: [...state.trace, event.evidence],
      };
    }
    case 'RolledBack':
      return { ...state, status: 'rolled-back', trace: event.trace };
    case 'RolloutCompleted':
      return { ...state, status: 'completed', trace: event.trace };
    default: {
      const never: never = event;
      return never;
    }
  }
}

function pct(p: number): string {
  return `${(p * 100).toFixed(2)}%`;
}
