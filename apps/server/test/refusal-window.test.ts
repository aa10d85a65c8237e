import { describe, expect, it } from 'vitest';
import { RefusalWindow } from '../src/refusal-window.js';

describe('RefusalWindow', () => {
  it('is true at the event that makes more than `limit` within the window, not before', () => {
    const window = new RefusalWindow(3, 10_000);
    expect([0, 1, 2].map((t) => window.record(t))).toEqual([false, false, false]);
    expect(window.record(3)).toBe(true);
  });

  it('forgets events older than the window: any 10 s, not a fixed one', () => {
    const window = new RefusalWindow(3, 10_000);
    for (const t of [0, 5000, 9000]) expect(window.record(t)).toBe(false);
    // 0 has left the window at 10 000: three in (0, 10 000], not four.
    expect(window.record(10_000)).toBe(false);
    // 5000, 9000, 10 000, 14 999: four within 10 s.
    expect(window.record(14_999)).toBe(true);
  });

  it('a steady trickle below the limit never trips it', () => {
    const window = new RefusalWindow(5, 10_000);
    for (let t = 0; t < 100_000; t += 2001) expect(window.record(t)).toBe(false);
  });
});
