/** Median and spread of repeated measurements. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [...samples] };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, samples: [...samples] };
}

export function formatNumber(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatSummary(s: Summary, digits = 0): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  if (s.samples.length <= 1) return formatNumber(s.median, digits);
  return `${formatNumber(s.median, digits)} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`;
}
