import type { Histogram } from 'hdr-histogram-js';
import { createHistogram, encodeHistogram, mergeHistograms, percentilesOf, type EncodedHistogram } from './latency-recorder.js';

/** One second of one worker, as sent to the parent. `second` counts from the run's start. */
export interface TimelineBucket {
  second: number;
  sent: number;
  deliveries: number;
  latency: EncodedHistogram | null;
}

/** One second of the whole run, as reported. Latencies in ms (all deliveries of that second, warm-up included). */
export interface TimelinePoint {
  second: number;
  sent: number;
  deliveries: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Connections open at the end of the second, all workers. */
  connected: number;
  /** Generator CPU per worker (% of one core); null where a worker sent no sample for that second. */
  cpuPercent: (number | null)[];
}

interface Pending {
  sent: number;
  deliveries: number;
  histogram: Histogram | undefined;
}

/** Per-second counts and latency in one worker; completed seconds are flushed to the parent. */
export class TimelineRecorder {
  private readonly buckets = new Map<number, Pending>();

  constructor(private readonly runStart: number) {}

  secondOf(at: number): number {
    return Math.max(0, Math.floor((at - this.runStart) / 1000));
  }

  private bucket(at: number): Pending {
    const second = this.secondOf(at);
    let bucket = this.buckets.get(second);
    if (bucket === undefined) {
      bucket = { sent: 0, deliveries: 0, histogram: undefined };
      this.buckets.set(second, bucket);
    }
    return bucket;
  }

  addSent(at: number): void {
    this.bucket(at).sent++;
  }

  addDelivery(at: number, latencyMs: number): void {
    const bucket = this.bucket(at);
    bucket.deliveries++;
    bucket.histogram ??= createHistogram();
    bucket.histogram.recordValue(latencyMs <= 0 ? 0 : Math.round(latencyMs * 1000));
  }

  /** Buckets of seconds before `now`'s (all of them when `now` is undefined), removed from the recorder. */
  flush(now?: number): TimelineBucket[] {
    const current = now === undefined ? Infinity : this.secondOf(now);
    const out: TimelineBucket[] = [];
    for (const [second, bucket] of this.buckets) {
      if (second >= current) continue;
      out.push({
        second,
        sent: bucket.sent,
        deliveries: bucket.deliveries,
        latency: bucket.histogram === undefined ? null : encodeHistogram(bucket.histogram),
      });
      bucket.histogram?.destroy();
      this.buckets.delete(second);
    }
    return out;
  }
}

/** The parent's side: merges the workers' seconds. */
export class TimelineMerger {
  private readonly seconds = new Map<
    number,
    { sent: number; deliveries: number; histogram: Histogram; connected: number[]; cpu: number[] }
  >();

  constructor(private readonly workers: number) {}

  private at(second: number) {
    let entry = this.seconds.get(second);
    if (entry === undefined) {
      entry = {
        sent: 0,
        deliveries: 0,
        histogram: createHistogram(),
        connected: new Array<number>(this.workers).fill(-1),
        cpu: new Array<number>(this.workers).fill(-1),
      };
      this.seconds.set(second, entry);
    }
    return entry;
  }

  addBuckets(buckets: readonly TimelineBucket[]): void {
    for (const bucket of buckets) {
      const entry = this.at(bucket.second);
      entry.sent += bucket.sent;
      entry.deliveries += bucket.deliveries;
      if (bucket.latency !== null) mergeHistograms([bucket.latency], entry.histogram);
    }
  }

  addSample(worker: number, second: number, connected: number, cpuPercent: number): void {
    const entry = this.at(second);
    entry.connected[worker] = connected;
    entry.cpu[worker] = cpuPercent;
  }

  /** Deliveries in a completed second (for the progress line). */
  deliveriesIn(second: number): number {
    return this.seconds.get(second)?.deliveries ?? 0;
  }

  sentIn(second: number): number {
    return this.seconds.get(second)?.sent ?? 0;
  }

  points(): TimelinePoint[] {
    const seconds = [...this.seconds.keys()].sort((a, b) => a - b);
    const lastConnected = new Array<number>(this.workers).fill(0);
    return seconds.map((second) => {
      const entry = this.seconds.get(second)!;
      entry.connected.forEach((value, worker) => {
        if (value >= 0) lastConnected[worker] = value;
      });
      const latency = percentilesOf(entry.histogram);
      return {
        second,
        sent: entry.sent,
        deliveries: entry.deliveries,
        p50: latency.p50,
        p90: latency.p90,
        p99: latency.p99,
        max: latency.max,
        connected: lastConnected.reduce((a, b) => a + b, 0),
        cpuPercent: entry.cpu.map((c) => (c < 0 ? null : Math.round(c))),
      };
    });
  }
}
