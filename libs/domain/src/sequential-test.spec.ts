import { betaBinomialMixtureTest, logBeta, logBetaUpperTail, logGamma, logMeanExp, rateDifferenceUpperBound, rateLowerBound, rateUpperBound, sampleRatioZ } from './sequential-test';

/** Simpson's rule on the Beta(a,b) density over [x, 1]: an independent check of the upper tail. */
function upperTailByQuadrature(x: number, a: number, b: number): number {
  const n = 20_000;
  const h = (1 - x) / n;
  const logB = logBeta(a, b);
  const f = (t: number) => (t <= 0 || t >= 1 ? 0 : Math.exp((a - 1) * Math.log(t) + (b - 1) * Math.log1p(-t) - logB));
  let s = f(x) + f(1);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(x + i * h);
  return (s * h) / 3;
}

describe('log-space special functions', () => {
  it('logGamma matches factorials and Γ(1/2) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(6)).toBeCloseTo(Math.log(120), 11);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 11);
    let logFactorial1000 = 0;
    for (let i = 2; i <= 1000; i++) logFactorial1000 += Math.log(i);
    expect(logGamma(1001)).toBeCloseTo(logFactorial1000, 8);
  });

  it('the Beta upper tail matches closed forms and numeric integration', () => {
    expect(Math.exp(logBetaUpperTail(0.3, 1, 1))).toBeCloseTo(0.7, 12);
    expect(Math.exp(logBetaUpperTail(0.3, 3, 1))).toBeCloseTo(1 - 0.3 ** 3, 12);
    expect(Math.exp(logBetaUpperTail(0.5, 7, 7))).toBeCloseTo(0.5, 12);
    for (const [x, a, b] of [[0.05, 2.5, 47.5], [0.01, 30, 1000], [0.2, 5, 5]] as const) {
      expect(Math.exp(logBetaUpperTail(x, a, b))).toBeCloseTo(upperTailByQuadrature(x, a, b), 6);
    }
  });

  it('stays finite far in the tails where the probability underflows a double', () => {
    const logTail = logBetaUpperTail(0.01, 2, 50_000);
    expect(Number.isFinite(logTail)).toBe(true);
    expect(logTail).toBeLessThan(-400);
  });

  it('rejects arguments outside the domain with a RangeError', () => {
    expect(() => logBetaUpperTail(1, 1, 1)).toThrow(RangeError);
    expect(() => betaBinomialMixtureTest(-1, 3, 0.05, 50)).toThrow(RangeError);
    expect(() => betaBinomialMixtureTest(1, 3, 1, 50)).toThrow(RangeError);
  });
});

describe('beta-binomial mixture e-value', () => {
  it('is exactly 1 before any event', () => {
    expect(betaBinomialMixtureTest(0, 0, 0.05, 50).logE).toBe(0);
  });

  it('has expectation 1 under the null (a martingale: summed exactly over the binomial)', () => {
    for (const [n, rho] of [[10, 0.05], [60, 0.25], [200, 0.01]] as const) {
      let expectation = 0;
      for (let x = 0; x <= n; x++) {
        const logP = logGamma(n + 1) - logGamma(x + 1) - logGamma(n - x + 1) + x * Math.log(rho) + (n - x) * Math.log1p(-rho);
        expectation += Math.exp(logP + betaBinomialMixtureTest(x, n - x, rho, 50).logE);
      }
      expect(expectation).toBeCloseTo(1, 8);
    }
  });

  it('grows with a canary that takes more than its share of the errors, and shrinks when it takes less', () => {
    const worse = betaBinomialMixtureTest(30, 120, 0.1, 50).logE;
    const better = betaBinomialMixtureTest(5, 145, 0.1, 50).logE;
    expect(worse).toBeGreaterThan(Math.log(20));
    expect(better).toBeLessThan(0);
  });

  it('averaging two e-values in log space neither overflows nor loses the larger one', () => {
    expect(logMeanExp(1000, 0)).toBeCloseTo(1000 - Math.log(2), 9);
    expect(logMeanExp(0, 0)).toBe(0);
  });

  it('measures the request split in standard deviations', () => {
    expect(sampleRatioZ(50, 950, 0.05)).toBeCloseTo(0, 9);
    expect(sampleRatioZ(150, 850, 0.05)).toBeGreaterThan(10);
  });
});

/** Mulberry32: seeded, so the coverage checks below are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('anytime-valid bounds on a rate (beta-binomial mixture confidence sequence)', () => {
  it('gives no evidence without requests: the upper bound is 1, the lower 0', () => {
    expect(rateUpperBound(0, 0, 0.05)).toBe(1);
    expect(rateLowerBound(0, 0, 0.05)).toBe(0);
    expect(rateDifferenceUpperBound({ events: 0, trials: 0 }, { events: 10, trials: 1000 }, 0.05)).toBeGreaterThan(0.98);
  });

  it('brackets the observed rate and tightens as requests accumulate', () => {
    for (const n of [100, 1000, 10_000, 100_000]) {
      const upper = rateUpperBound(n / 100, n, 0.05);
      const lower = rateLowerBound(n / 100, n, 0.05);
      expect(lower).toBeLessThan(0.01);
      expect(upper).toBeGreaterThan(0.01);
    }
    expect(rateUpperBound(10, 1000, 0.05)).toBeGreaterThan(rateUpperBound(100, 10_000, 0.05));
    expect(rateUpperBound(1000, 100_000, 0.05)).toBeLessThan(0.0115);
  });

  it('is the rate at which the mixture martingale reaches 1/alpha', () => {
    const [x, n, alpha] = [18, 1800, 0.025];
    const u = rateUpperBound(x, n, alpha);
    const logM = logBeta(0.5 + x, 0.5 + n - x) - logBeta(0.5, 0.5) - x * Math.log(u) - (n - x) * Math.log1p(-u);
    expect(logM).toBeCloseTo(Math.log(1 / alpha), 6);
  });

  it('rejects counts that cannot be, and alpha outside (0, 1), with a RangeError', () => {
    expect(() => rateUpperBound(5, 3, 0.05)).toThrow(RangeError);
    expect(() => rateUpperBound(-1, 3, 0.05)).toThrow(RangeError);
    expect(() => rateUpperBound(1, 3, 1)).toThrow(RangeError);
  });

  it('covers the true rate at every look at once, in at least 1 - alpha of seeded sequences', () => {
    const rand = seeded(7);
    const [p, alpha, sequences, length] = [0.02, 0.1, 300, 2000];
    let missed = 0;
    for (let s = 0; s < sequences; s++) {
      let events = 0;
      for (let n = 1; n <= length; n++) {
        if (rand() < p) events++;
        if (n % 20 === 0 && rateUpperBound(events, n, alpha) < p) {
          missed++;
          break;
        }
      }
    }
    expect(missed / sequences).toBeLessThanOrEqual(alpha);
  });

  it('bounds the difference of two rates: equal rates with much traffic show a small bound, a worse canary does not', () => {
    const equal = rateDifferenceUpperBound({ events: 100, trials: 10_000 }, { events: 1000, trials: 100_000 }, 0.05);
    expect(equal).toBeGreaterThan(0);
    expect(equal).toBeLessThan(0.01);
    const worse = rateDifferenceUpperBound({ events: 300, trials: 10_000 }, { events: 1000, trials: 100_000 }, 0.05);
    expect(worse).toBeGreaterThan(0.02);
  });
});
