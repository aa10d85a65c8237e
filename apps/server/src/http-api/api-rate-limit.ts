import type { RedisClient } from '@realtime/redis';
import { TokenBucket } from '../rate-limiter.js';

/** Whether a call may go ahead, and if not, in how many seconds one would. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Per API key: `ratePerSecond` sustained, bursts of twice that. */
export interface ApiRateLimiter {
  take(keyName: string): Promise<RateDecision>;
}

/** A token bucket in one hash per API key, on the Redis clock: one limit for the whole cluster. */
const TOKEN_BUCKET_LUA = `
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local retry = 0
if tokens >= 1 then tokens = tokens - 1 else retry = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return retry
`;

interface WithTokenBucket {
  apiTokenBucket(key: string, rate: number, burst: number): Promise<number>;
}

/**
 * Cluster-wide, exact to Redis's clock. Fails open when Redis cannot answer:
 * a call that needs Redis then answers 503 anyway, and one that does not
 * (none today) should not be refused for Redis's sake.
 */
export function redisApiRateLimiter(redis: RedisClient, keyPrefix: string, ratePerSecond: number): ApiRateLimiter {
  redis.defineCommand('apiTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  const client = redis as RedisClient & WithTokenBucket;
  return {
    async take(keyName) {
      if (ratePerSecond === 0) return { allowed: true };
      try {
        const retryMs = await client.apiTokenBucket(`${keyPrefix}api-rate:${keyName}`, ratePerSecond, 2 * ratePerSecond);
        return retryMs === 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) };
      } catch {
        return { allowed: true };
      }
    },
  };
}

/** A single node: one bucket per key, in memory. */
export function memoryApiRateLimiter(ratePerSecond: number): ApiRateLimiter {
  const buckets = new Map<string, TokenBucket>();
  return {
    async take(keyName) {
      let bucket = buckets.get(keyName);
      if (bucket === undefined) {
        bucket = new TokenBucket(ratePerSecond, 2 * ratePerSecond);
        buckets.set(keyName, bucket);
      }
      return bucket.take() ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(1 / Math.max(ratePerSecond, 1))) };
    },
  };
}
