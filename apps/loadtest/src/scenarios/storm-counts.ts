/**
 * The `online-users` count each storm member has been told, over time. A
 * worker keeps how many of its members hold each count (a member's count
 * is the last one announced to it) and snapshots that distribution on a
 * fixed grid from the storm's start. The grid is the same in every worker
 * (the storm starts at one shared instant), so the parent adds the
 * distributions up and reads min/median/max across all members.
 */

/** Grid of the count-over-time series (ms). Fine enough to show a storm settling within 100 ms. */
export const COUNT_STEP_MS = 10;
/** The report's series is resampled to at most this many points, so a long storm keeps a small report. */
export const MAX_COUNT_POINTS = 400;

/** From `atMs` (ms after the storm started) on, `counts[c]` of the worker's members hold count `c`. */
export interface CountStep {
  atMs: number;
  counts: Record<string, number>;
}

/** One worker's series, as sent to the parent. Members not in `counts` have been told no count yet. */
export interface WorkerCountSeries {
  members: number;
  steps: CountStep[];
}

/**
 * One point of the merged series. A member told no count yet counts as 0 in
 * min/median/max. The median is the lower one for an even number of
 * members, so it is always a count some member actually held.
 */
export interface CountPoint {
  atMs: number;
  /** Members told at least one count by then. */
  told: number;
  min: number;
  median: number;
  max: number;
  /** Members whose count was N (the expected count) by then. */
  atExpected: number;
}

export interface CountOverTime {
  /** Spacing of `points` (ms). */
  stepMs: number;
  points: CountPoint[];
}

/**
 * Worker side. `change` is called for every announcement, in time order;
 * a snapshot is taken lazily when an announcement falls in a later grid
 * cell than the previous one, so a quiet storm costs nothing and the
 * snapshot at boundary b·step holds exactly the announcements before it.
 */
export class CountStepRecorder {
  private readonly holding = new Map<number, number>();
  private readonly steps: CountStep[] = [];
  /** Grid cell of the newest announcement; -1 before the first. */
  private cell = -1;

  constructor(
    private readonly startAt: number,
    private readonly stepMs: number = COUNT_STEP_MS,
  ) {}

  /** A member was told `count`; `previous` is the count it held (undefined: its first). */
  change(at: number, previous: number | undefined, count: number): void {
    const cell = Math.max(0, Math.floor((at - this.startAt) / this.stepMs));
    if (cell > this.cell && this.cell >= 0) this.snapshot((this.cell + 1) * this.stepMs);
    this.cell = Math.max(this.cell, cell);
    if (previous !== undefined) {
      const left = (this.holding.get(previous) ?? 1) - 1;
      if (left === 0) this.holding.delete(previous);
      else this.holding.set(previous, left);
    }
    this.holding.set(count, (this.holding.get(count) ?? 0) + 1);
  }

  /** The series up to `endAt` (the storm's end): the last distribution also holds at `endAt`, so the chart shows it staying. */
  finish(members: number, endAt: number): WorkerCountSeries {
    if (this.cell >= 0) {
      this.snapshot((this.cell + 1) * this.stepMs);
      const endMs = Math.ceil((endAt - this.startAt) / this.stepMs) * this.stepMs;
      if (endMs > (this.cell + 1) * this.stepMs) this.snapshot(endMs);
    }
    return { members, steps: this.steps };
  }

  private snapshot(atMs: number): void {
    const counts: Record<string, number> = {};
    for (const [count, n] of [...this.holding].sort((a, b) => a[0] - b[0])) counts[String(count)] = n;
    this.steps.push({ atMs, counts });
  }
}

/** The value at 0-based position `k` of the sorted multiset `entries` ([value, how many], ascending). */
function at(entries: readonly [number, number][], k: number): number {
  let seen = 0;
  for (const [value, n] of entries) {
    seen += n;
    if (k < seen) return value;
  }
  return entries.at(-1)?.[0] ?? 0;
}

/**
 * Parent side: adds the workers' distributions on a shared grid and reads
 * min/median/max across every member, from the storm's start to the latest
 * worker's end. Empty (no points) when no member was told any count.
 */
export function mergeCountSeries(series: readonly WorkerCountSeries[], expected: number, stepMs: number = COUNT_STEP_MS): CountOverTime {
  const members = series.reduce((a, s) => a + s.members, 0);
  const endMs = Math.max(0, ...series.flatMap((s) => s.steps.map((step) => step.atMs)));
  if (members === 0 || series.every((s) => s.steps.length === 0)) return { stepMs, points: [] };
  const stride = Math.max(1, Math.ceil(endMs / stepMs / MAX_COUNT_POINTS)) * stepMs;
  const cursors = series.map(() => -1);
  const points: CountPoint[] = [];
  for (let t = 0; ; t = Math.min(t + stride, endMs)) {
    const holding = new Map<number, number>();
    series.forEach((s, w) => {
      while (cursors[w]! + 1 < s.steps.length && s.steps[cursors[w]! + 1]!.atMs <= t) cursors[w]!++;
      const step = s.steps[cursors[w]!];
      if (step === undefined) return;
      for (const [count, n] of Object.entries(step.counts)) holding.set(Number(count), (holding.get(Number(count)) ?? 0) + n);
    });
    const told = [...holding.values()].reduce((a, b) => a + b, 0);
    if (told < members) holding.set(0, (holding.get(0) ?? 0) + members - told);
    const entries = [...holding].sort((a, b) => a[0] - b[0]);
    const median = at(entries, (members - 1) >> 1);
    points.push({
      atMs: t,
      told,
      min: entries[0]![0],
      median,
      max: entries.at(-1)![0],
      atExpected: holding.get(expected) ?? 0,
    });
    if (t >= endMs) break;
  }
  return { stepMs: stride, points };
}
