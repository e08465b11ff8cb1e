// `npm run bench -- canary`: the canary judge on simulated rollouts with Poisson traffic.
//
// Each rollout is a sequence of 10-second observations. Requests of each release arrive as a
// Poisson process; a request fails with the release's error probability and is slow (above stable's
// p95) with probability 5 %. By Poisson thinning, failures and successes are independent Poisson
// counts, which is what is drawn. The judge (libs/domain/src/judge.ts, the production
// code) decides after every observation. The naive rule "canary error rate > 1.2x stable's over a
// 5-minute window" is evaluated on the very same simulated counts, for comparison.
//
// Promotion needs evidence of safety: a low-traffic scenario (2 requests/s, a release failing 3x as
// often as stable) measures how often a bad release is promoted, beside the A/A false-rollback rate
// and the time a good release takes to be promoted, in the same run.
import { decideJudgement as decide, evolveJudgement as evolve, initialJudgeState, DEFAULT_JUDGE_CONFIG, type ArmCounts, type CountsSnapshot, type JudgeConfig, type JudgeState, type RollbackCause } from '@antibody/domain';
import { median, percentile, report, type Figure } from './harness';

/** Mulberry32: a small seeded PRNG, so every run simulates the same rollouts. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function logFactorial(k: number): number {
  let s = 0;
  for (let i = 2; i <= k; i++) s += Math.log(i);
  return s;
}
const LOG_FACT = Array.from({ length: 64 }, (_, k) => logFactorial(k));
function lgammaInt1(k: number): number {
  // ln(k!) by Stirling's series past the table.
  if (k < 64) return LOG_FACT[k] as number;
  const n = k + 1;
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

/** Poisson(lambda): inversion for small means, Hörmann's PTRS (1993) otherwise. Exact in both. */
function poisson(lambda: number, rand: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    let k = 0;
    let p = Math.exp(-lambda);
    let cdf = p;
    const u = rand();
    while (u > cdf && k < 1000) {
      k++;
      p *= lambda / k;
      cdf += p;
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = rand() - 0.5;
    const V = rand();
    const us = 0.5 - Math.abs(U);
    const k = Math.floor(((2 * a) / us + b) * U + lambda + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - lgammaInt1(k)) return k;
  }
}

interface Scenario {
  rps: number;
  stages: readonly number[];
  stableErrorRate: number;
  canaryErrorRate: number;
}

interface Outcome {
  rolledBack: boolean;
  cause?: RollbackCause;
  decidedAtMin: number;
  naiveRolledBack: boolean;
}

const STEP_MS = 10_000;
const SLOW_RATE = 0.05;
const NAIVE_WINDOW_MS = 5 * 60_000;

function add(a: ArmCounts, rps: number, share: number, errorRate: number, rand: () => number): ArmCounts {
  const lambda = (rps * share * STEP_MS) / 1000;
  const errors = poisson(lambda * errorRate, rand);
  const ok = poisson(lambda * (1 - errorRate), rand);
  const slow = poisson(lambda * SLOW_RATE, rand);
  return { requests: a.requests + errors + ok, errors: a.errors + errors, slow: a.slow + Math.min(slow, errors + ok) };
}

function simulate(s: Scenario, config: JudgeConfig, rand: () => number): Outcome {
  let snapshot: CountsSnapshot = { canary: { requests: 0, errors: 0, slow: 0 }, stable: { requests: 0, errors: 0, slow: 0 } };
  let state: JudgeState = initialJudgeState();
  for (const e of decide({ type: 'Start', at: 0, snapshot }, state, config)) state = evolve(state, e);
  let naiveRolledBack = false;
  let windowStart = snapshot;
  let windowStartAt = 0;
  for (let at = STEP_MS; ; at += STEP_MS) {
    const share = (config.stages[state.stageIndex] as number) / 100;
    snapshot = {
      canary: add(snapshot.canary, s.rps, share, s.canaryErrorRate, rand),
      stable: add(snapshot.stable, s.rps, 1 - share, s.stableErrorRate, rand),
    };
    if (!naiveRolledBack && at - windowStartAt >= NAIVE_WINDOW_MS) {
      const c = { r: snapshot.canary.requests - windowStart.canary.requests, e: snapshot.canary.errors - windowStart.canary.errors };
      const st = { r: snapshot.stable.requests - windowStart.stable.requests, e: snapshot.stable.errors - windowStart.stable.errors };
      if (c.r > 0 && st.r > 0 && c.e / c.r > 1.2 * (st.e / st.r)) naiveRolledBack = true;
      windowStart = snapshot;
      windowStartAt = at;
    }
    const stageBefore = state.stageIndex;
    let cause: RollbackCause | undefined;
    for (const e of decide({ type: 'Observe', at, snapshot }, state, config)) {
      if (e.type === 'RolledBack') cause = e.cause;
      state = evolve(state, e);
    }
    if (state.stageIndex !== stageBefore) {
      windowStart = snapshot;
      windowStartAt = at;
    }
    if (state.status !== 'running') return { rolledBack: state.status === 'rolled-back', ...(cause ? { cause } : {}), decidedAtMin: at / 60_000, naiveRolledBack };
  }
}

function run(count: number, seed: number, s: Scenario, config: JudgeConfig): Outcome[] {
  const rand = mulberry32(seed);
  const out: Outcome[] = [];
  for (let i = 0; i < count; i++) out.push(simulate(s, config, rand));
  return out;
}

export async function main(): Promise<void> {
  const runs = Number(process.env.CANARY_BENCH_RUNS ?? 10_000);
  const config: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG };
  const started = Date.now();
  const aa = run(runs, 1, { rps: 100, stages: config.stages, stableErrorRate: 0.01, canaryErrorRate: 0.01 }, config);
  const config5 = { ...config, stages: [5, 25, 50, 100] };
  const ab100 = run(runs, 2, { rps: 100, stages: config5.stages, stableErrorRate: 0.01, canaryErrorRate: 0.02 }, config5);
  const ab1000 = run(runs, 3, { rps: 1000, stages: config.stages, stableErrorRate: 0.01, canaryErrorRate: 0.02 }, config);
  // A service of 2 requests/s, judged with settings fit for it (the defaults would never reach 200
  // canary requests at 1 %): few errors are ever seen, so absence of evidence of harm is the rule.
  const lowTraffic: JudgeConfig = { ...config, stages: [25, 50, 100], minCanaryRequests: 20, stageDeadlineMs: 60 * 60_000 };
  const badLow = run(runs, 4, { rps: 2, stages: lowTraffic.stages, stableErrorRate: 0.01, canaryErrorRate: 0.03 }, lowTraffic);
  const goodLow = run(runs, 5, { rps: 2, stages: lowTraffic.stages, stableErrorRate: 0.01, canaryErrorRate: 0.01 }, lowTraffic);
  const elapsedS = (Date.now() - started) / 1000;

  const detect = (o: Outcome[]) => o.map((x) => (x.rolledBack ? x.decidedAtMin : Number.POSITIVE_INFINITY));
  const rateOf = (o: Outcome[], f: (x: Outcome) => boolean) => o.filter(f).length / o.length;
  const aaFalse = rateOf(aa, (x) => x.rolledBack);
  const naiveAa = rateOf(aa, (x) => x.naiveRolledBack);
  const promotedAt = (o: Outcome[]) => o.map((x) => (x.rolledBack ? Number.POSITIVE_INFINITY : x.decidedAtMin));
  const harm = (x: Outcome) => x.cause === 'error-regression' || x.cause === 'latency-regression' || x.cause === 'error-ceiling';
  const metrics: Record<string, Figure> = {
    aa_false_rollback: { value: aaFalse, unit: 'fraction', goal: '<= 0.035', note: `alpha 0.05; ${runs} A/A rollouts, 100 rps, 1% errors, stages ${config.stages.join('/')}; any rollback or revert` },
    aa_false_harm_rollback: { value: rateOf(aa, harm), unit: 'fraction', note: 'A/A rollouts rolled back as a regression (not reverted for want of evidence)' },
    good_promoted_median_min: { value: median(promotedAt(aa)), unit: 'min', note: 'time an A/A release takes to reach 100 % (dwell 5 min per stage; the 1 % stage until the margins are shown)' },
    good_promoted_p90_min: { value: percentile(promotedAt(aa), 90), unit: 'min' },
    bad_promoted_rate_low_traffic: {
      value: rateOf(badLow, (x) => !x.rolledBack),
      unit: 'fraction',
      goal: '<= 0.01',
      note: `canary 3% errors vs stable 1%, 2 rps; stages ${lowTraffic.stages.join('/')}, ${lowTraffic.minCanaryRequests} canary requests, ${lowTraffic.stageDeadlineMs / 60_000} min deadline, margin ${lowTraffic.errorRateMargin}`,
    },
    bad_reverted_for_evidence_low_traffic: { value: rateOf(badLow, (x) => x.cause === 'no-evidence-by-deadline'), unit: 'fraction', note: 'of those bad releases, the share reverted at a deadline (the rest rolled back as regressions)' },
    good_promoted_rate_low_traffic: { value: rateOf(goodLow, (x) => !x.rolledBack), unit: 'fraction', note: 'an A/A release at 2 rps, same settings: what the evidence costs' },
    good_promoted_median_min_low_traffic: { value: median(promotedAt(goodLow)), unit: 'min' },
    naive_aa_false_rollback: { value: naiveAa, unit: 'fraction', note: `baseline: "canary > 1.2x stable in a 5-min window", same rollouts; ratio ${(naiveAa / Math.max(aaFalse, 1e-9)).toFixed(1)}x the judge` },
    detect_median_min_100rps_5pct: { value: median(detect(ab100)), unit: 'min', goal: '<= 4', note: '2x regression (1% -> 2%), stages 5/25/50/100' },
    detect_p90_min_100rps_5pct: { value: percentile(detect(ab100), 90), unit: 'min', goal: '<= 8' },
    detect_median_min_1000rps_1pct: { value: median(detect(ab1000)), unit: 'min', goal: '<= 2', note: '2x regression, stages 1/5/25/50/100' },
    detect_power_100rps_5pct: { value: rateOf(ab100, (x) => x.rolledBack), unit: 'fraction', note: 'share of 2x regressions rolled back at all' },
    naive_detect_power_100rps_5pct: { value: rateOf(ab100, (x) => x.naiveRolledBack), unit: 'fraction', note: 'naive rule on the same regressed rollouts' },
  };
  report('canary', metrics, {
    rollouts: runs * 5,
    simulationSeconds: elapsedS,
    judge: { ...config, note: 'DEFAULT_JUDGE_CONFIG; the 5% scenario starts at 5%' },
    lowTrafficJudge: lowTraffic,
    stepSeconds: STEP_MS / 1000,
  });
}
