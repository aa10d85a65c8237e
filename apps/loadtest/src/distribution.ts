/** A list of numbers summarised: what the report gives for per-member figures. */
export interface Spread {
  min: number;
  median: number;
  mean: number;
  max: number;
}

/** One bar of a histogram: values in [from, to). */
export interface Bin {
  from: number;
  to: number;
  count: number;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Min, median (the mean of the middle two for an even count), mean (1 decimal) and max; zeros for no values. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: 0, median: 0, mean: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return { min: sorted[0]!, median, mean: round1(sum / sorted.length), max: sorted.at(-1)! };
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `x` (x > 0): bin widths and axis steps people read easily. */
export function niceStep(x: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(x));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= x * (1 - 1e-9)) return step * magnitude;
  return 10 * magnitude;
}

/** At most about this many bars: enough to see a shape, few enough to label. */
const TARGET_BINS = 24;

/**
 * Equal-width bins from 0 (or from the smallest value, for integers far from
 * 0) up to the largest value, for a bar chart. Integer data with a small
 * range gets one bin per value, so "1 announcement" and "2 announcements"
 * are separate bars rather than a shared range.
 */
export function binValues(values: readonly number[], kind: 'integer' | 'continuous'): Bin[] {
  if (values.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  let from: number;
  let width: number;
  if (kind === 'integer') {
    width = max - min + 1 <= TARGET_BINS + 6 ? 1 : Math.ceil(niceStep((max - min + 1) / TARGET_BINS));
    from = Math.floor(min / width) * width;
  } else {
    width = max <= 0 ? 1 : niceStep(max / TARGET_BINS);
    from = 0;
  }
  const count = Math.floor((max - from) / width) + 1;
  // toPrecision: 3 × 0.2 is 0.6000000000000001 in floating point, not a bin edge anyone wrote.
  const edge = (i: number): number => Number((from + i * width).toPrecision(12));
  const bins: Bin[] = Array.from({ length: count }, (_, i) => ({ from: edge(i), to: edge(i + 1), count: 0 }));
  for (const v of values) bins[Math.min(count - 1, Math.floor((v - from) / width))]!.count++;
  return bins;
}
