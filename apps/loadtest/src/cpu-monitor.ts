import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

const LOOP_RESOLUTION_MS = 10;

/** One generator process's own cost: if it is saturated, its latencies are its own, not the cluster's. */
export interface GeneratorCpu {
  worker: number;
  pid: number;
  userMs: number;
  systemMs: number;
  wallMs: number;
  /** CPU time / wall time over the whole run, % of one core. */
  meanPercent: number;
  /** Mean over the seconds while messages were sent or the join storm ran (else the whole run), % of one core. */
  busyPercent: number;
  /** The busiest second, % of one core. */
  peakPercent: number;
  /** Event-loop delay p99 over the run, ms. */
  eventLoopDelayP99Ms: number;
  /** Event-loop delay max over the run, ms. */
  eventLoopDelayMaxMs: number;
}

/** Samples `process.cpuUsage()` and the event-loop delay of this process. */
export class CpuMonitor {
  private readonly start = process.cpuUsage();
  private readonly startWall = performance.now();
  private last = process.cpuUsage();
  private lastWall = performance.now();
  private readonly samples: { percent: number; busy: boolean }[] = [];
  private readonly loop: ELDHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

  constructor(private readonly worker: number) {
    this.loop.enable();
  }

  /** % of one core since the previous sample. `busy` marks seconds of the measured activity. */
  sample(busy: boolean): number {
    const now = process.cpuUsage();
    const wall = performance.now();
    const used = now.user - this.last.user + (now.system - this.last.system);
    const percent = wall > this.lastWall ? (used / 1000 / (wall - this.lastWall)) * 100 : 0;
    this.last = now;
    this.lastWall = wall;
    this.samples.push({ percent, busy });
    return percent;
  }

  finish(): GeneratorCpu {
    this.sample(false);
    this.loop.disable();
    const total = process.cpuUsage(this.start);
    const wallMs = performance.now() - this.startWall;
    const busy = this.samples.filter((s) => s.busy);
    const considered = busy.length > 0 ? busy : this.samples;
    const mean = (xs: readonly { percent: number }[]): number => (xs.length === 0 ? 0 : xs.reduce((a, s) => a + s.percent, 0) / xs.length);
    const round1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      worker: this.worker,
      pid: process.pid,
      userMs: Math.round(total.user / 1000),
      systemMs: Math.round(total.system / 1000),
      wallMs: Math.round(wallMs),
      meanPercent: round1(wallMs > 0 ? ((total.user + total.system) / 1000 / wallMs) * 100 : 0),
      busyPercent: round1(mean(considered)),
      peakPercent: round1(Math.max(0, ...this.samples.map((s) => s.percent))),
      // The histogram holds timer periods (resolution + delay); the delay is the excess.
      eventLoopDelayP99Ms: round1(Math.max(0, this.loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS)),
      eventLoopDelayMaxMs: round1(Math.max(0, this.loop.max / 1e6 - LOOP_RESOLUTION_MS)),
    };
  }
}

/** Above this share of one core a generator process skews what it measures. */
export const SATURATED_PERCENT = 90;
