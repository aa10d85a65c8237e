import { createHistogram, mergeHistograms } from './latency-recorder.js';
import type { TimelineMerger } from './timeline.js';
import type { WorkerPhase, WorkerTick } from './worker/protocol.js';

/** Live figures, about once a second. */
export interface ProgressSnapshot {
  /** Seconds since the run started. */
  elapsedSeconds: number;
  phase: WorkerPhase;
  connected: number;
  planned: number;
  sent: number;
  sentPerSecond: number;
  deliveries: number;
  deliveriesPerSecond: number;
  /** p99 latency of every delivery so far (warm-up included), ms. */
  p99Ms: number;
  /** Sequence holes seen so far (losses, or deliveries still on their way). */
  gaps: number;
  duplicated: number;
  failures: number;
}

const PHASE_ORDER: readonly WorkerPhase[] = ['starting', 'connecting', 'storm', 'sending', 'draining', 'done'];

export interface ProgressOptions {
  workers: number;
  quiet: boolean;
  onProgress: ((snapshot: ProgressSnapshot) => void) | undefined;
  stream?: NodeJS.WriteStream;
}

/**
 * Merges the workers' ticks into one snapshot per second and shows it on
 * stderr: rewritten in place on a TTY, a plain line every 5 s otherwise,
 * nothing with --quiet.
 */
export class Progress {
  private readonly latest: (WorkerTick | undefined)[];
  private readonly finished: boolean[];
  private readonly latency = createHistogram();
  private lastShown = -1;
  private lastPrinted = -Infinity;
  private lineOpen = false;
  private readonly stream: NodeJS.WriteStream;

  constructor(
    private readonly options: ProgressOptions,
    private readonly timeline: TimelineMerger,
  ) {
    this.latest = new Array<WorkerTick | undefined>(options.workers).fill(undefined);
    this.finished = new Array<boolean>(options.workers).fill(false);
    this.stream = options.stream ?? process.stderr;
  }

  onTick(tick: WorkerTick): void {
    this.latest[tick.worker] = tick;
    for (const bucket of tick.buckets) if (bucket.latency !== null) mergeHistograms([bucket.latency], this.latency);
    this.maybeShow(tick.second);
  }

  /** A worker sent its result: it ticks no more. */
  workerFinished(worker: number): void {
    this.finished[worker] = true;
  }

  private maybeShow(second: number): void {
    if (second <= this.lastShown) return;
    const ready = this.latest.every((t, w) => this.finished[w] || (t !== undefined && t.second >= second));
    if (!ready) return;
    this.lastShown = second;
    const ticks = this.latest.filter((t): t is WorkerTick => t !== undefined);
    const sum = (pick: (t: WorkerTick) => number): number => ticks.reduce((a, t) => a + pick(t), 0);
    const phase = ticks.map((t) => t.phase).sort((a, b) => PHASE_ORDER.indexOf(a) - PHASE_ORDER.indexOf(b))[0] ?? 'starting';
    const snapshot: ProgressSnapshot = {
      elapsedSeconds: second + 1,
      phase,
      connected: sum((t) => t.connected),
      planned: sum((t) => t.planned),
      sent: sum((t) => t.sent),
      sentPerSecond: this.timeline.sentIn(second),
      deliveries: sum((t) => t.deliveries),
      deliveriesPerSecond: this.timeline.deliveriesIn(second),
      p99Ms: this.latency.totalCount === 0 ? 0 : Math.round(this.latency.getValueAtPercentile(99) / 10) / 100,
      gaps: sum((t) => t.gaps),
      duplicated: sum((t) => t.duplicated),
      failures: sum((t) => t.failures),
    };
    this.options.onProgress?.(snapshot);
    if (this.options.quiet) return;
    const line = formatProgress(snapshot);
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
      this.lineOpen = true;
    } else if (snapshot.elapsedSeconds - this.lastPrinted >= 5) {
      this.lastPrinted = snapshot.elapsedSeconds;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the live line so the summary starts on a fresh one. */
  stop(): void {
    if (this.lineOpen) this.stream.write('\n');
    this.lineOpen = false;
    this.latency.destroy();
  }
}

const n = (x: number): string => x.toLocaleString('en-US');

export function formatProgress(s: ProgressSnapshot): string {
  return [
    `[${String(s.elapsedSeconds).padStart(4)}s] ${s.phase.padEnd(10)}`,
    `connected ${n(s.connected)}/${n(s.planned)}`,
    `sent ${n(s.sent)} (${n(s.sentPerSecond)}/s)`,
    `deliveries ${n(s.deliveries)} (${n(s.deliveriesPerSecond)}/s)`,
    `p99 ${s.p99Ms} ms`,
    `gaps ${n(s.gaps)}`,
    `dup ${n(s.duplicated)}`,
    `failures ${n(s.failures)}`,
  ].join('  ');
}
