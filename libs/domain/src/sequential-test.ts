// Anytime-valid comparison of a canary with the stable release on event counts.
//
// Poisson thinning: when a request goes to the canary with probability rho (its traffic share) and
// both releases fail at the same per-request rate, each failure independently belongs to the canary
// with probability rho, whatever the (unknown, drifting) base rate. So, conditional on the total
// number of failures n, the canary's failures x follow Binomial(n, rho) under "no regression". The
// test is the mixture likelihood ratio (Bayes factor) of Lindon & Malek (2022) for that binomial:
// a Beta(k*rho, k*(1-rho)) prior centred on the null, truncated to theta > rho so that only a *worse*
// canary gathers evidence. A mixture of likelihood ratios is a non-negative martingale with mean 1
// under the null, so by Ville's inequality P(sup_t E_t >= 1/alpha) <= alpha: it may be read after
// every observation, and stopping when it crosses 1/alpha is valid at any time.
//
// All arithmetic is in log space: counts reach the thousands, where Beta functions under/overflow.

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(z) for z > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function logGamma(z: number): number {
  if (!(z > 0)) throw new RangeError(`logGamma needs z > 0, got ${z}`);
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < 9; i++) sum += (LANCZOS[i] as number) / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** Continued fraction of the incomplete beta function (modified Lentz), as in Numerical Recipes. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) return h;
  }
  throw new RangeError(`incomplete beta did not converge for x=${x}, a=${a}, b=${b}`);
}

/** ln I_x(a, b), the log of the regularized incomplete beta function, by the direct fraction. */
function logIncompleteBetaDirect(x: number, a: number, b: number): number {
  return a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b) + Math.log(betaContinuedFraction(x, a, b)) - Math.log(a);
}

/**
 * ln P(θ > x) for θ ~ Beta(a, b), i.e. ln(1 − I_x(a, b)), accurate in the far tails where the
 * probability is below 1e-300. Throws RangeError outside 0 < x < 1, a > 0, b > 0.
 */
export function logBetaUpperTail(x: number, a: number, b: number): number {
  if (!(x > 0 && x < 1) || !(a > 0) || !(b > 0)) throw new RangeError(`logBetaUpperTail needs 0<x<1, a>0, b>0 (x=${x}, a=${a}, b=${b})`);
  // The fraction converges fast only for x < (a+1)/(a+b+2); otherwise use 1 − I_x(a,b) = I_{1−x}(b,a).
  if (x < (a + 1) / (a + b + 2)) {
    const logLower = logIncompleteBetaDirect(x, a, b);
    return Math.log1p(-Math.exp(Math.min(logLower, 0)));
  }
  return logIncompleteBetaDirect(1 - x, b, a);
}

/** The result of one sequential test on (canary, stable) counts of one kind of event. */
export interface MixtureTestResult {
  /** ln of the e-value (Bayes factor) against "canary's share of the events = its traffic share". */
  readonly logE: number;
  /** Canary events / all events: the observed share, to compare with `nullShare`. */
  readonly observedShare: number;
  readonly nullShare: number;
}

/**
 * One-sided beta-binomial mixture e-value (Lindon & Malek 2022) that `canaryEvents` out of
 * `canaryEvents + stableEvents` exceed what a canary carrying `nullShare` of the traffic produces
 * when it is no worse than stable. Prior Beta(k·ρ, k·(1−ρ)) truncated to θ > ρ, with
 * k = `concentration` (larger = more weight on small regressions).
 *
 * Guarantee: under the null the returned e-value, read at any data-dependent time, exceeds 1/α
 * with probability at most α. With no events it is exactly 1 (logE = 0). Throws RangeError on
 * negative or non-finite counts, or a share outside (0, 1).
 */
export function betaBinomialMixtureTest(canaryEvents: number, stableEvents: number, nullShare: number, concentration: number): MixtureTestResult {
  if (!(nullShare > 0 && nullShare < 1)) throw new RangeError(`the canary's traffic share must be in (0, 1), got ${nullShare}`);
  if (!(concentration > 0)) throw new RangeError(`the prior concentration must be > 0, got ${concentration}`);
  for (const n of [canaryEvents, stableEvents]) {
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`event counts must be finite and >= 0, got ${n}`);
  }
  const x = canaryEvents;
  const y = stableEvents;
  const rho = nullShare;
  const a = concentration * rho;
  const b = concentration * (1 - rho);
  const total = x + y;
  if (total === 0) return { logE: 0, observedShare: 0, nullShare: rho };
  const logMarginal = logBeta(a + x, b + y) + logBetaUpperTail(rho, a + x, b + y) - logBeta(a, b) - logBetaUpperTail(rho, a, b);
  const logNull = x * Math.log(rho) + y * Math.log1p(-rho);
  return { logE: logMarginal - logNull, observedShare: x / total, nullShare: rho };
}

/** ln((e^u + e^v) / 2) without overflow: the log of the average of two e-values (itself an e-value). */
export function logMeanExp(u: number, v: number): number {
  const m = Math.max(u, v);
  return m + Math.log((Math.exp(u - m) + Math.exp(v - m)) / 2);
}

/**
 * Sample-ratio check: how many standard deviations the canary's request count is from what its
 * configured share predicts (binomial). Large |z| means the split is not what the judge assumes,
 * so error comparisons are not trustworthy: the judge then calls the stage inconclusive.
 */
export function sampleRatioZ(canaryRequests: number, stableRequests: number, expectedShare: number): number {
  const total = canaryRequests + stableRequests;
  if (total === 0) return 0;
  const sd = Math.sqrt(total * expectedShare * (1 - expectedShare));
  return (canaryRequests - total * expectedShare) / sd;
}

// Anytime-valid bounds on one release's rate (errors, or slow requests, per request), for the
// non-inferiority gate: a stage advances only when the canary is shown no worse than stable by more
// than a margin. Robbins' beta-binomial mixture (Robbins 1970, "Statistical methods related to the
// law of the iterated logarithm"; Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform,
// nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), conjugate mixtures): for
// a fixed rate p, M_n(p) = ∫ L_n(θ)/L_n(p) dBeta(θ; ½, ½) = B(½+x, ½+n−x) / (B(½, ½) · p^x (1−p)^(n−x))
// is a non-negative martingale with mean 1 when requests fail independently with probability p, so
// by Ville's inequality P_p(M_n(p) ≥ 1/α for some n) ≤ α, and {p : M_n(p) < 1/α} is a confidence
// sequence: it holds at every n at once, so it may be read after every observation. The Jeffreys
// prior Beta(½, ½) puts weight on small rates, where error rates live.

const JEFFREYS = 0.5;

/**
 * Anytime-valid upper confidence bound on a rate from `events` out of `trials`, at level `alpha`:
 * the true rate exceeds it at some time with probability at most alpha, however often it is read.
 * 1 with no trials (or when every trial was an event). Throws RangeError on counts that are
 * negative, non-finite or inconsistent, or alpha outside (0, 1).
 */
export function rateUpperBound(events: number, trials: number, alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!Number.isFinite(trials) || !Number.isFinite(events) || events < 0 || trials < events) {
    throw new RangeError(`need 0 <= events <= trials, got ${events} of ${trials}`);
  }
  const x = events;
  const y = trials - events;
  if (y === 0) return 1;
  const logMarginal = logBeta(JEFFREYS + x, JEFFREYS + y) - logBeta(JEFFREYS, JEFFREYS);
  const logThreshold = Math.log(1 / alpha);
  // ln M(p) is convex in p with its minimum (<= 0) at x/n and grows without bound as p -> 1, so the
  // bound is its one crossing of ln(1/alpha) above x/n: bracket it by doubling the step, then Newton
  // from above (on a convex increasing function it never overshoots the root).
  const logM = (p: number) => logMarginal - (x === 0 ? 0 : x * Math.log(p)) - y * Math.log1p(-p);
  const slope = (p: number) => -x / p + y / (1 - p);
  const mle = x / trials;
  let step = 1 / trials;
  let p = Math.min(mle + step, (1 + mle) / 2);
  while (logM(p) < logThreshold) {
    step *= 2;
    p = mle + step < 1 ? mle + step : (p + 1) / 2;
  }
  for (let i = 0; i < 50; i++) {
    const next = p - (logM(p) - logThreshold) / slope(p);
    if (!(next < p) || p - next < 1e-12) break;
    p = Math.max(next, mle);
  }
  return p;
}

/** Anytime-valid lower confidence bound on a rate (the upper bound of the complementary rate). */
export function rateLowerBound(events: number, trials: number, alpha: number): number {
  return 1 - rateUpperBound(trials - events, trials, alpha);
}

/** Events out of requests of one release. */
export interface RateCounts {
  readonly events: number;
  readonly trials: number;
}

/**
 * Anytime-valid upper bound on (canary rate − stable rate): the canary's upper bound minus stable's
 * lower bound, each at alpha/2 (a union bound), so a canary worse than stable by more than d shows a
 * bound below d with probability at most alpha, at any time. A release without requests gives no
 * evidence: the canary's bound is then 1, stable's 0.
 */
export function rateDifferenceUpperBound(canary: RateCounts, stable: RateCounts, alpha: number): number {
  return rateUpperBound(canary.events, canary.trials, alpha / 2) - rateLowerBound(stable.events, stable.trials, alpha / 2);
}
