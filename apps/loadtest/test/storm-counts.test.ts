import { describe, expect, it } from 'vitest';
import { CountStepRecorder, MAX_COUNT_POINTS, mergeCountSeries } from '../src/scenarios/storm-counts.js';

const START = 1_000_000;

describe('CountStepRecorder', () => {
  it('snapshots the counts members hold on the grid, before the first announcement of a later cell', () => {
    const r = new CountStepRecorder(START, 10);
    r.change(START + 3, undefined, 1); // member a
    r.change(START + 7, undefined, 2); // member b
    r.change(START + 25, 1, 2); // a catches up
    expect(r.finish(3, START + 25)).toEqual({
      members: 3,
      steps: [
        { atMs: 10, counts: { '1': 1, '2': 1 } },
        { atMs: 30, counts: { '2': 2 } },
      ],
    });
  });

  it('holds the last distribution until the end of the storm, and records nothing for a silent one', () => {
    const r = new CountStepRecorder(START, 10);
    r.change(START + 1, undefined, 5);
    expect(r.finish(1, START + 200).steps).toEqual([
      { atMs: 10, counts: { '5': 1 } },
      { atMs: 200, counts: { '5': 1 } },
    ]);
    expect(new CountStepRecorder(START).finish(4, START + 500)).toEqual({ members: 4, steps: [] });
  });
});

describe('mergeCountSeries', () => {
  it('adds the workers up on the shared grid; members told nothing count as 0', () => {
    const merged = mergeCountSeries(
      [
        {
          members: 2,
          steps: [
            { atMs: 10, counts: { '3': 1 } },
            { atMs: 20, counts: { '4': 2 } },
          ],
        },
        {
          members: 2,
          steps: [
            { atMs: 20, counts: { '2': 1, '4': 1 } },
            { atMs: 30, counts: { '4': 2 } },
          ],
        },
      ],
      4,
      10,
    );
    expect(merged).toEqual({
      stepMs: 10,
      points: [
        { atMs: 0, told: 0, min: 0, median: 0, max: 0, atExpected: 0 },
        { atMs: 10, told: 1, min: 0, median: 0, max: 3, atExpected: 0 },
        // 2, 4, 4, 4: the lower median of an even count is a count a member held.
        { atMs: 20, told: 4, min: 2, median: 4, max: 4, atExpected: 3 },
        { atMs: 30, told: 4, min: 4, median: 4, max: 4, atExpected: 4 },
      ],
    });
  });

  it('is empty when no member was told a count, and resamples a long storm to a bounded series', () => {
    expect(mergeCountSeries([{ members: 3, steps: [] }], 3)).toEqual({ stepMs: 10, points: [] });
    const steps = Array.from({ length: 2000 }, (_, i) => ({ atMs: (i + 1) * 10, counts: { [String(i + 1)]: 1 } }));
    const merged = mergeCountSeries([{ members: 1, steps }], 2000, 10);
    expect(merged.points.length).toBeLessThanOrEqual(MAX_COUNT_POINTS + 1);
    expect(merged.stepMs).toBeGreaterThan(10);
    expect(merged.points.at(-1)).toEqual({ atMs: 20_000, told: 1, min: 2000, median: 2000, max: 2000, atExpected: 1 });
  });
});
