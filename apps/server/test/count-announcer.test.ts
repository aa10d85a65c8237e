import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TopicCount } from '@realtime/presence';
import { CountAnnouncer } from '../src/count-announcer.js';

function announcer(intervalMs: number, members = new Set(['t'])) {
  const emitted: TopicCount[] = [];
  const a = new CountAnnouncer({ intervalMs, hasLocalMembers: (t) => members.has(t), emit: (c) => emitted.push(c) });
  return { a, emitted, members };
}

describe('CountAnnouncer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never announces a count older than one already announced, whatever order offers arrive in', () => {
    const { a, emitted } = announcer(0);
    a.offer({ topic: 't', count: 3, version: 30 });
    a.offer({ topic: 't', count: 2, version: 20 }); // read earlier by another node, arrived later
    a.offer({ topic: 't', count: 3, version: 30 }); // the same change via pub/sub
    a.offer({ topic: 't', count: 4, version: 40 });
    expect(emitted.map((c) => c.count)).toEqual([3, 4]);
  });

  it('coalesces a burst into a leading and a trailing announcement, the trailing one the newest', () => {
    vi.useFakeTimers();
    const { a, emitted } = announcer(250);
    for (let i = 1; i <= 100; i++) a.offer({ topic: 't', count: i, version: i });
    expect(emitted.map((c) => c.count)).toEqual([1]);
    vi.advanceTimersByTime(250);
    expect(emitted.map((c) => c.count)).toEqual([1, 100]);
    vi.advanceTimersByTime(10_000);
    expect(emitted).toHaveLength(2);
  });

  it('announces nothing to a node without members of the topic and keeps no state for it', () => {
    vi.useFakeTimers();
    const { a, emitted, members } = announcer(250);
    a.offer({ topic: 'elsewhere', count: 5, version: 1 });
    expect(emitted).toEqual([]);
    expect(a.size).toBe(0);
    a.offer({ topic: 't', count: 1, version: 1 });
    a.offer({ topic: 't', count: 2, version: 2 });
    members.delete('t'); // the last local member left before the trailing edge
    vi.advanceTimersByTime(250);
    expect(emitted.map((c) => c.count)).toEqual([1]);
    expect(a.size).toBe(0);
  });
});
