import {
  addHistograms,
  bucketUpperBoundMs,
  countAbove,
  DURATION_BOUNDS_MS,
  DURATION_BUCKETS,
  durationBucket,
  histogramOf,
  histogramTotal,
  judgeSlow,
  quantileBucket,
} from './latency';

describe('duration histogram', () => {
  it('has 66 log-spaced buckets from 1 ms to 65.5 s, each bound about 19 % above the previous', () => {
    expect(DURATION_BUCKETS).toBe(66);
    expect(DURATION_BOUNDS_MS[0]).toBe(1);
    expect(DURATION_BOUNDS_MS[4]).toBe(2);
    expect(DURATION_BOUNDS_MS[64]).toBe(65_536);
    for (let i = 1; i < DURATION_BOUNDS_MS.length; i++) expect(DURATION_BOUNDS_MS[i]! / DURATION_BOUNDS_MS[i - 1]!).toBeCloseTo(2 ** 0.25, 10);
  });

  it('puts a duration in the bucket whose bounds hold it, upper bound inclusive', () => {
    expect(durationBucket(0)).toBe(0);
    expect(durationBucket(-5)).toBe(0);
    expect(durationBucket(Number.NaN)).toBe(0);
    expect(durationBucket(1)).toBe(0);
    expect(durationBucket(1.0001)).toBe(1);
    expect(durationBucket(2)).toBe(4);
    expect(durationBucket(2.0001)).toBe(5);
    expect(durationBucket(100)).toBe(27); // 2^(26/4) = 90.5 < 100 <= 2^(27/4) = 107.6
    expect(durationBucket(65_536)).toBe(64);
    expect(durationBucket(65_537)).toBe(65);
    expect(durationBucket(Number.POSITIVE_INFINITY)).toBe(65);
    for (const bound of DURATION_BOUNDS_MS) {
      const i = durationBucket(bound);
      expect(bucketUpperBoundMs(i)).toBe(bound);
      expect(durationBucket(bound * 1.000001)).toBe(i + 1);
    }
  });

  it('adds histograms element by element, an empty one counting as zeros', () => {
    const a = histogramOf([1, 5, 5]);
    const b = histogramOf([5, 300]);
    const sum = addHistograms(a, [], undefined, b);
    expect(sum).toHaveLength(DURATION_BUCKETS);
    expect(sum[durationBucket(5)]).toBe(3);
    expect(sum[durationBucket(300)]).toBe(1);
    expect(histogramTotal(sum)).toBe(5);
  });

  it('finds the bucket of a quantile by cumulative count', () => {
    expect(quantileBucket([], 0.95)).toBeUndefined();
    expect(quantileBucket(histogramOf([]), 0.95)).toBeUndefined();
    // 95 requests of 10 ms, 5 of 1 s: the 95th is still 10 ms, the 96th is 1 s.
    const durations = [...new Array<number>(95).fill(10), ...new Array<number>(5).fill(1000)];
    expect(quantileBucket(histogramOf(durations), 0.95)).toBe(durationBucket(10));
    expect(quantileBucket(histogramOf(durations), 0.96)).toBe(durationBucket(1000));
    expect(quantileBucket(histogramOf([7]), 0.95)).toBe(durationBucket(7));
  });

  it('counts what lies above a bucket', () => {
    const h = histogramOf([1, 10, 11, 12, 500]);
    expect(countAbove(h, durationBucket(10))).toBe(2); // 10 and 11 ms share (9.51, 11.31]; 12 ms is in the next bucket
    expect(countAbove(h, durationBucket(500))).toBe(0);
  });
});

// given a baseline of the stable release / when the canary and stable windows are judged / then the slow counts
describe('judgeSlow', () => {
  it('given no baseline data, then there is no threshold and nothing is slow', () => {
    expect(judgeSlow(histogramOf([]), histogramOf([5000, 9000]), histogramOf([5000]))).toEqual({ thresholdMs: null, canarySlow: 0, stableSlow: 0 });
  });

  it('given a stable p95 of 20 ms, when the canary answers in 200 ms half the time, then half its requests are slow', () => {
    const baseline = histogramOf(Array.from({ length: 200 }, (_, i) => (i < 190 ? 5 + (i % 15) : 300)));
    const canary = histogramOf(Array.from({ length: 40 }, (_, i) => (i % 2 ? 200 : 8)));
    const stable = histogramOf(Array.from({ length: 100 }, (_, i) => (i < 97 ? 12 : 250)));
    const judgement = judgeSlow(baseline, canary, stable);
    expect(judgement.thresholdMs).toBe(bucketUpperBoundMs(durationBucket(19)));
    expect(judgement.thresholdMs!).toBeGreaterThanOrEqual(19);
    expect(judgement.thresholdMs!).toBeLessThan(19 * 2 ** 0.25);
    expect(judgement).toMatchObject({ canarySlow: 20, stableSlow: 3 });
  });

  it('given a baseline whose p95 is in the slowest bucket, then nothing can be slower', () => {
    const judgement = judgeSlow(histogramOf([100_000]), histogramOf([200_000]), histogramOf([1]));
    expect(judgement).toEqual({ thresholdMs: 65_536, canarySlow: 0, stableSlow: 0 });
  });
});
