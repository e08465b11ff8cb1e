/**
 * Request durations per release bucket, as a fixed log-spaced histogram (so buckets of different
 * times, instances and releases add up element by element, and a percentile of any sum of them can
 * be read back within one bucket's width).
 *
 * Bucket `0` holds durations ≤ 1 ms; bucket `i` (1…64) holds durations in
 * (2^((i-1)/4), 2^(i/4)] ms, each bound about 19 % above the previous one, up to 65,536 ms; bucket
 * `65` holds everything slower. The upper bound of bucket `i < 65` is {@link DURATION_BOUNDS_MS}[i].
 */
export type DurationHistogram = readonly number[];

/** Upper bounds (ms, inclusive) of buckets 0…64; bucket 65 is unbounded. */
export const DURATION_BOUNDS_MS: readonly number[] = Array.from({ length: 65 }, (_, i) => 2 ** (i / 4));

/** Number of buckets of a {@link DurationHistogram}. */
export const DURATION_BUCKETS = DURATION_BOUNDS_MS.length + 1;

/** The bucket of a duration in ms (negative or non-finite durations count as 0 ms). */
export function durationBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  if (!Number.isFinite(ms)) return DURATION_BUCKETS - 1;
  // log2 rounding can land one bucket off at an exact bound; the bounds decide.
  let index = Math.min(DURATION_BUCKETS - 1, Math.ceil(4 * Math.log2(ms)));
  while (index > 0 && ms <= DURATION_BOUNDS_MS[index - 1]!) index -= 1;
  while (index < DURATION_BUCKETS - 1 && ms > DURATION_BOUNDS_MS[index]!) index += 1;
  return index;
}

/** An all-zero histogram. */
export function emptyHistogram(): number[] {
  return new Array<number>(DURATION_BUCKETS).fill(0);
}

/** The histogram of a list of durations (ms). */
export function histogramOf(durationsMs: Iterable<number>): number[] {
  const histogram = emptyHistogram();
  for (const ms of durationsMs) histogram[durationBucket(ms)]! += 1;
  return histogram;
}

/**
 * Element-wise sum. Shorter inputs (an empty array: no durations recorded) count as zeros; a longer
 * one keeps its extra buckets, so the sum never loses a count.
 */
export function addHistograms(...histograms: ReadonlyArray<DurationHistogram | undefined>): number[] {
  const length = Math.max(DURATION_BUCKETS, ...histograms.map((h) => h?.length ?? 0));
  const sum = new Array<number>(length).fill(0);
  for (const h of histograms) h?.forEach((n, i) => (sum[i]! += n));
  return sum;
}

/** Total count of a histogram. */
export function histogramTotal(histogram: DurationHistogram): number {
  return histogram.reduce((sum, n) => sum + n, 0);
}

/**
 * The bucket holding the `q`-quantile (0 < q ≤ 1) of the histogram: the first bucket at which the
 * cumulative count reaches ⌈q·total⌉. Undefined for an empty histogram.
 */
export function quantileBucket(histogram: DurationHistogram, q: number): number | undefined {
  const total = histogramTotal(histogram);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let cumulative = 0;
  for (let i = 0; i < histogram.length; i++) {
    cumulative += histogram[i]!;
    if (cumulative >= rank) return i;
  }
  return histogram.length - 1;
}

/** The upper bound (ms) of a bucket; the slowest bucket reports the last finite bound. */
export function bucketUpperBoundMs(index: number): number {
  return DURATION_BOUNDS_MS[Math.min(index, DURATION_BOUNDS_MS.length - 1)]!;
}

/** How many durations of the histogram lie in buckets above `index` (i.e. are slower than its upper bound). */
export function countAbove(histogram: DurationHistogram, index: number): number {
  let count = 0;
  for (let i = index + 1; i < histogram.length; i++) count += histogram[i]!;
  return count;
}

/** The slow-request judgement of a canary against its stable release. */
export interface SlowJudgement {
  /** Upper bound (ms) of the bucket holding the baseline's p95; null without baseline data. */
  readonly thresholdMs: number | null;
  readonly canarySlow: number;
  readonly stableSlow: number;
}

/**
 * Counts the canary's and the stable release's requests slower than the stable release's p95 over
 * a baseline window (measured before the comparison window, so the canary cannot move it). The p95
 * is rounded up to its bucket's upper bound and a request is slow when it lies in a bucket above
 * it, so the count errs towards "not slow" by at most one bucket width (~19 %). Without baseline
 * data there is no threshold and nothing is slow.
 */
export function judgeSlow(baseline: DurationHistogram, canary: DurationHistogram, stable: DurationHistogram, quantile = 0.95): SlowJudgement {
  const index = quantileBucket(baseline, quantile);
  if (index === undefined) return { thresholdMs: null, canarySlow: 0, stableSlow: 0 };
  return { thresholdMs: bucketUpperBoundMs(index), canarySlow: countAbove(canary, index), stableSlow: countAbove(stable, index) };
}
