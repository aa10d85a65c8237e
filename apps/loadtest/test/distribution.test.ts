import { describe, expect, it } from 'vitest';
import { binValues, niceStep, spread } from '../src/distribution.js';

describe('spread', () => {
  it('gives min, median, mean and max; the median of an even count is the mean of the middle two', () => {
    expect(spread([5, 1, 3])).toEqual({ min: 1, median: 3, mean: 3, max: 5 });
    expect(spread([4, 1, 2, 100])).toEqual({ min: 1, median: 3, mean: 26.8, max: 100 });
    expect(spread([])).toEqual({ min: 0, median: 0, mean: 0, max: 0 });
  });
});

describe('niceStep', () => {
  it('rounds up to 1, 2, 2.5 or 5 × 10^k', () => {
    expect([0.3, 1, 4.78, 7, 12, 2600].map(niceStep)).toEqual([0.5, 1, 5, 10, 20, 5000]);
  });
});

describe('binValues', () => {
  it('gives whole numbers with a small range one bar each, from the smallest value', () => {
    expect(binValues([2, 1, 2, 4], 'integer')).toEqual([
      { from: 1, to: 2, count: 1 },
      { from: 2, to: 3, count: 2 },
      { from: 3, to: 4, count: 0 },
      { from: 4, to: 5, count: 1 },
    ]);
  });

  it('groups a wide range of whole numbers into round widths, every value in exactly one bin', () => {
    const values = Array.from({ length: 500 }, (_, i) => i + 1);
    const bins = binValues(values, 'integer');
    expect(bins.length).toBeLessThanOrEqual(30);
    expect(bins[0]!.from).toBeLessThanOrEqual(1);
    expect(bins.at(-1)!.to).toBeGreaterThan(500);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(500);
    for (let i = 1; i < bins.length; i++) expect(bins[i]!.from).toBe(bins[i - 1]!.to);
  });

  it('bins latencies from 0 in round widths, the largest value in the last bin', () => {
    const bins = binValues([0.4, 19.7, 50.2, 114.7], 'continuous');
    expect(bins[0]).toEqual({ from: 0, to: 5, count: 1 });
    expect(bins.at(-1)).toEqual({ from: 110, to: 115, count: 1 });
    expect(bins.find((b) => b.from === 50)!.count).toBe(1);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(4);
    // Edges are the round numbers a reader expects, not 0.06000000000000001.
    expect(
      binValues([0.07, 0.3], 'continuous')
        .map((b) => b.to)
        .slice(0, 4),
    ).toEqual([0.02, 0.04, 0.06, 0.08]);
    expect(binValues([], 'continuous')).toEqual([]);
  });
});
