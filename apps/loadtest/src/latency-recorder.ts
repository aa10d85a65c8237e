import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** Latency figures in milliseconds (recorded in µs, 3 significant digits). */
export interface LatencyPercentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A histogram as it travels between processes: HdrHistogram's compressed base64 encoding. */
export type EncodedHistogram = string;

/** An HDR histogram of microseconds, resizing as needed. */
export function createHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function encodeHistogram(histogram: Histogram): EncodedHistogram {
  return encodeIntoCompressedBase64(histogram);
}

/** Adds encoded histograms (from workers, per second, per target) into one. */
export function mergeHistograms(encoded: readonly EncodedHistogram[], into: Histogram = createHistogram()): Histogram {
  for (const item of encoded) {
    const decoded = decodeFromCompressedBase64(item, 32, false);
    into.add(decoded);
    decoded.destroy();
  }
  return into;
}

const round3 = (us: number): number => Math.round(us) / 1000;

export function percentilesOf(histogram: Histogram): LatencyPercentiles {
  if (histogram.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const max = histogram.maxValue;
  // A percentile is the highest value of its bucket, which can lie above the largest value recorded
  // (100 joins: p99.9 300.031 ms, max 299.879 ms); no percentile is above the max.
  const at = (percentile: number): number => round3(Math.min(histogram.getValueAtPercentile(percentile), max));
  return {
    count: histogram.totalCount,
    min: round3(histogram.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : histogram.minNonZeroValue),
    mean: round3(histogram.mean),
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: round3(max),
  };
}

/**
 * Records latencies (send → receipt) overall and per target in one worker;
 * values in milliseconds in, microseconds inside.
 */
export class LatencyRecorder {
  readonly overall = createHistogram();
  private readonly perTarget: Histogram[];

  constructor(targets: number) {
    this.perTarget = Array.from({ length: targets }, () => createHistogram());
  }

  record(targetIndex: number, latencyMs: number): void {
    const us = latencyMs <= 0 ? 0 : Math.round(latencyMs * 1000);
    this.overall.recordValue(us);
    this.perTarget[targetIndex]?.recordValue(us);
  }

  encode(): { overall: EncodedHistogram; perTarget: EncodedHistogram[] } {
    return { overall: encodeHistogram(this.overall), perTarget: this.perTarget.map(encodeHistogram) };
  }
}
