import type { RedisClient } from '@realtime/redis';

/** How long an idempotency key is remembered: a retry within this window is not delivered again. */
export const IDEMPOTENCY_WINDOW_MS = 5 * 60_000;

/**
 * Claims idempotency keys per API key. `claim` resolves true for the first
 * caller within the window (exactly one of several concurrent ones) and
 * false for the rest; `release` gives a claimed key back when the publish
 * it guarded did not happen, so a retry goes through.
 */
export interface IdempotencyStore {
  claim(apiKey: string, idempotencyKey: string): Promise<boolean>;
  release(apiKey: string, idempotencyKey: string): Promise<void>;
}

/** Cluster-wide: SET NX PX on Redis (one key per claim, any slot). */
export function redisIdempotency(redis: RedisClient, keyPrefix: string): IdempotencyStore {
  // Names are bounded by the API's own limits (key name 64, idempotency key 256).
  const keyOf = (apiKey: string, idempotencyKey: string): string => `${keyPrefix}idem:${apiKey}:${idempotencyKey}`;
  return {
    async claim(apiKey, idempotencyKey) {
      return (await redis.set(keyOf(apiKey, idempotencyKey), '1', 'PX', IDEMPOTENCY_WINDOW_MS, 'NX')) === 'OK';
    },
    async release(apiKey, idempotencyKey) {
      await redis.del(keyOf(apiKey, idempotencyKey));
    },
  };
}

/** A single node: in memory, at most `maxKeys` remembered (the oldest forgotten first). */
export function memoryIdempotency(maxKeys = 100_000, now: () => number = Date.now): IdempotencyStore {
  const claimed = new Map<string, number>();
  const keyOf = (apiKey: string, idempotencyKey: string): string => `${apiKey}\u001f${idempotencyKey}`;
  return {
    async claim(apiKey, idempotencyKey) {
      const key = keyOf(apiKey, idempotencyKey);
      const until = claimed.get(key);
      if (until !== undefined && until > now()) return false;
      claimed.delete(key);
      claimed.set(key, now() + IDEMPOTENCY_WINDOW_MS);
      // Insertion order is expiry order (one window for all): drop expired ones, then the oldest beyond the cap.
      for (const [k, expires] of claimed) {
        if (expires > now() && claimed.size <= maxKeys) break;
        claimed.delete(k);
      }
      return true;
    },
    async release(apiKey, idempotencyKey) {
      claimed.delete(keyOf(apiKey, idempotencyKey));
    },
  };
}
