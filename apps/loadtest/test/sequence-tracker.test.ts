import { describe, expect, it } from 'vitest';
import { SequenceTracker } from '../src/sequence-tracker.js';
import { decodeMessage, encodeMessage } from '../src/payload.js';

describe('SequenceTracker', () => {
  it('in-order delivery is one range, no gaps, nothing flagged', () => {
    const t = new SequenceTracker();
    for (let seq = 1; seq <= 5; seq++) expect(t.record(seq)).toBe('in-order');
    expect(t.ranges()).toEqual([[1, 5]]);
    expect({ received: t.received, duplicates: t.duplicates, outOfOrder: t.outOfOrder, gaps: t.gaps, highest: t.highest }).toEqual({
      received: 5,
      duplicates: 0,
      outOfOrder: 0,
      gaps: 0,
      highest: 5,
    });
  });

  it('a missing number is a gap until it arrives, then it is out of order', () => {
    const t = new SequenceTracker();
    for (const seq of [1, 2, 4, 5]) t.record(seq);
    expect(t.gaps).toBe(1);
    expect(t.has(3)).toBe(false);
    expect(t.countInRange(1, 5)).toBe(4);
    expect(t.ranges()).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(t.record(3)).toBe('out-of-order');
    expect(t.ranges()).toEqual([[1, 5]]);
    expect(t.gaps).toBe(0);
    expect(t.outOfOrder).toBe(1);
  });

  it('a number received twice is a duplicate and counts once', () => {
    const t = new SequenceTracker();
    for (const seq of [1, 2, 3]) t.record(seq);
    expect(t.record(2)).toBe('duplicate');
    expect(t.record(3)).toBe('duplicate');
    expect(t.received).toBe(3);
    expect(t.duplicates).toBe(2);
    expect(t.outOfOrder).toBe(0);
  });

  it('a receiver that joined mid-stream starts at any number; gaps count from there', () => {
    const t = new SequenceTracker();
    for (const seq of [40, 41, 43]) t.record(seq);
    expect(t.gaps).toBe(1);
    expect(t.countInRange(1, 39)).toBe(0);
    expect(t.countInRange(41, 100)).toBe(2);
  });

  it('fills gaps between ranges from either side and merges them', () => {
    const t = new SequenceTracker();
    for (const seq of [1, 5, 9]) t.record(seq);
    expect(t.record(4)).toBe('out-of-order'); // joins the next range
    expect(t.record(2)).toBe('out-of-order'); // joins the previous one
    expect(t.record(7)).toBe('out-of-order'); // a range of its own
    expect(t.ranges()).toEqual([
      [1, 2],
      [4, 5],
      [7, 7],
      [9, 9],
    ]);
    expect(t.record(3)).toBe('out-of-order'); // merges [1,2] and [4,5]
    expect(t.record(8)).toBe('out-of-order');
    expect(t.record(6)).toBe('out-of-order');
    expect(t.ranges()).toEqual([[1, 9]]);
    expect(SequenceTracker.fromRanges(t.ranges()).countInRange(1, 9)).toBe(9);
  });

  it('agrees with a plain set on a shuffled stream with losses and duplicates', () => {
    let state = 42;
    const random = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const arrivals: number[] = [];
    for (let seq = 1; seq <= 500; seq++) {
      if (random() < 0.05) continue; // lost
      arrivals.push(seq);
      if (random() < 0.03) arrivals.push(seq); // duplicated
    }
    for (let i = 0; i < 60; i++) {
      const a = Math.floor(random() * arrivals.length);
      const b = Math.min(arrivals.length - 1, a + 1 + Math.floor(random() * 5));
      [arrivals[a], arrivals[b]] = [arrivals[b]!, arrivals[a]!];
    }
    const t = new SequenceTracker();
    const seen = new Set<number>();
    let max = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    for (const seq of arrivals) {
      const outcome = t.record(seq);
      const expected = seen.has(seq) ? 'duplicate' : seq < max ? 'out-of-order' : 'in-order';
      expect(outcome).toBe(expected);
      if (expected === 'duplicate') duplicates++;
      if (expected === 'out-of-order') outOfOrder++;
      seen.add(seq);
      max = Math.max(max, seq);
    }
    expect(t.received).toBe(seen.size);
    expect(t.duplicates).toBe(duplicates);
    expect(t.outOfOrder).toBe(outOfOrder);
    expect(t.countInRange(100, 300)).toBe([...seen].filter((s) => s >= 100 && s <= 300).length);
    expect(t.gaps).toBe(Math.max(...seen) - Math.min(...seen) + 1 - seen.size);
  });
});

describe('message stamp', () => {
  it('round-trips stream, sequence and send time, padded to the size', () => {
    const sentAt = 1_764_000_000_123.456;
    const message = encodeMessage({ stream: '2s', seq: 12345, sentAt, warmup: false }, 100);
    expect(message).toHaveLength(100);
    expect(decodeMessage(message)).toEqual({ stream: '2s', seq: 12345, sentAt, warmup: false });
    expect(decodeMessage(encodeMessage({ stream: 'z', seq: 1, sentAt, warmup: true }, 32))).toMatchObject({ warmup: true });
    expect(decodeMessage('hello')).toBeUndefined();
    expect(decodeMessage('a|b|')).toBeUndefined();
  });
});
