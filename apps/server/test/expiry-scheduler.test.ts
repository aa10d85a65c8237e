import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseChannelGrants, type ChannelGrants } from '../src/auth/channel-grants.js';
import type { Principal } from '../src/auth/authorizer.js';
import { expiryMoments } from '../src/auth/expiry-moments.js';
import { ExpiryScheduler } from '../src/auth/expiry-scheduler.js';

/** The expiry timers' arithmetic and bounds, on a fake clock (the timing on real sockets is in auth-expiry.test.ts). */

const GRANTS = parseChannelGrants({ '*': ['join'] }) as ChannelGrants;
const principal = (expiresAt: number | undefined, issuedAt: number | undefined): Principal => ({
  userId: 'u',
  userName: undefined,
  grants: GRANTS,
  expiresAt,
  issuedAt,
});

describe('expiryMoments', () => {
  it('warns at max(exp − warning, half-life) and closes at max(exp, accepted) + grace', () => {
    // 1-hour token: a minute before its end.
    expect(expiryMoments(principal(3600, 0), 0, 60_000, 10_000)).toEqual({ warnAtMs: 3_540_000, closeAtMs: 3_610_000 });
    // 1-minute token: at its half-life (30 s), not a minute before its end (at once).
    expect(expiryMoments(principal(60, 0), 0, 60_000, 10_000)).toEqual({ warnAtMs: 30_000, closeAtMs: 70_000 });
    // No iat: the lifetime counts from the acceptance.
    expect(expiryMoments(principal(100, undefined), 40_000, 60_000, 0)?.warnAtMs).toBe(70_000);
    // Accepted after exp (clock tolerance): the grace counts from the acceptance.
    expect(expiryMoments(principal(100, 0), 120_000, 1000, 5000)?.closeAtMs).toBe(125_000);
    expect(expiryMoments(principal(undefined, 0), 0, 1000, 1000)).toBeUndefined();
  });
});

describe('ExpiryScheduler', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('holds one timer per connection: warn, then expire; rescheduling replaces it; cancel leaves nothing', () => {
    const events: string[] = [];
    const sizes: number[] = [];
    const scheduler = new ExpiryScheduler<string>({
      warningMs: 1000,
      graceMs: 500,
      warn: (c, exp) => events.push(`warn ${c} ${exp}`),
      expire: (c, exp) => events.push(`expire ${c} ${exp}`),
      onSize: (size) => sizes.push(size),
    });
    scheduler.schedule('a', principal(10, 0), 0);
    scheduler.schedule('b', principal(10, 0), 0);
    scheduler.schedule('a', principal(20, 0), 0);
    expect(scheduler.size).toBe(2);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(9000);
    expect(events).toEqual(['warn b 10']);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(1500);
    expect(events).toEqual(['warn b 10', 'expire b 10']);
    expect(scheduler.size).toBe(1);
    scheduler.cancel('a');
    scheduler.cancel('a');
    expect(scheduler.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual(['warn b 10', 'expire b 10']);
    expect(sizes.at(-1)).toBe(0);
  });

  it('a token without exp holds no timer; one beyond setTimeout’s 24.8 days is reached in steps, not fired at once', () => {
    const events: string[] = [];
    const scheduler = new ExpiryScheduler<string>({
      warningMs: 60_000,
      graceMs: 0,
      warn: (c) => events.push(`warn ${c}`),
      expire: (c) => events.push(`expire ${c}`),
    });
    scheduler.schedule('forever', principal(undefined, undefined), 0);
    expect(scheduler.size).toBe(0);
    const sixtyDaysS = 60 * 24 * 3600;
    scheduler.schedule('long', principal(sixtyDaysS, sixtyDaysS - 120), 0);
    vi.advanceTimersByTime(30 * 24 * 3600 * 1000);
    expect(events).toEqual([]);
    expect(scheduler.size).toBe(1);
    vi.advanceTimersByTime(30 * 24 * 3600 * 1000 - 60_000);
    expect(events).toEqual(['warn long']);
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual(['warn long', 'expire long']);
  });
});
