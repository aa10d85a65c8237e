import type { RedisClient } from '@realtime/redis';

/** Whether a handshake may go ahead, and if not, in how many seconds one would. */
export type HandshakeDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** HANDSHAKE_RATE_PER_IP: at most `limit` handshakes per client address in any `windowMs`. */
export interface HandshakeLimiter {
  take(address: string): Promise<HandshakeDecision>;
}

/** Addresses remembered by the in-memory limiter; past this, expired ones are dropped, then all (failing open, never growing). */
const MAX_TRACKED_ADDRESSES = 100_000;

/**
 * One node's exact sliding window: each address's handshake times in the
 * window. Memory is at most `limit` numbers per address and
 * MAX_TRACKED_ADDRESSES addresses.
 */
export function memoryHandshakeLimiter(limit: number, windowMs: number, now = () => performance.now()): HandshakeLimiter {
  const seen = new Map<string, number[]>();
  const prune = (times: number[], at: number): void => {
    while (times.length > 0 && (times[0] as number) <= at - windowMs) times.shift();
  };
  return {
    async take(address) {
      const at = now();
      let times = seen.get(address);
      if (times === undefined) {
        if (seen.size >= MAX_TRACKED_ADDRESSES) {
          for (const [key, value] of seen) {
            prune(value, at);
            if (value.length === 0) seen.delete(key);
          }
          if (seen.size >= MAX_TRACKED_ADDRESSES) seen.clear();
        }
        times = [];
        seen.set(address, times);
      }
      prune(times, at);
      if (times.length >= limit) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((times[0] as number) + windowMs - at) / 1000)) };
      }
      times.push(at);
      return { allowed: true };
    },
  };
}

/**
 * A sliding log per address in one sorted set, on the Redis clock: one
 * limit for the whole cluster. Returns 0 when allowed, else the ms until the
 * oldest handshake in the window leaves it.
 */
const SLIDING_LOG_LUA = `
local limit, window, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], window)
return 0
`;

interface WithSlidingLog {
  handshakeSlidingLog(key: string, limit: number, windowMs: number, member: string): Promise<number>;
}

/**
 * Cluster-wide through Redis. Guarantee: when Redis fails or has not
 * answered within `timeoutMs`, the decision is the node's own
 * (`fallback`, which counts every handshake this node sees), so a Redis outage neither refuses everyone nor lifts the limit.
 */
export function redisHandshakeLimiter(options: {
  redis: RedisClient;
  keyPrefix: string;
  nodeId: string;
  limit: number;
  windowMs: number;
  fallback: HandshakeLimiter;
  timeoutMs?: number;
  onFallback?: () => void;
}): HandshakeLimiter {
  const { redis, keyPrefix, nodeId, limit, windowMs, fallback, timeoutMs = 250 } = options;
  redis.defineCommand('handshakeSlidingLog', { numberOfKeys: 1, lua: SLIDING_LOG_LUA });
  const client = redis as RedisClient & WithSlidingLog;
  let sequence = 0;
  return {
    async take(address) {
      // The node's own window sees every handshake, so it has the history when it must decide alone.
      const local = fallback.take(address);
      let timer: NodeJS.Timeout | undefined;
      try {
        const retryMs = await Promise.race([
          client.handshakeSlidingLog(`${keyPrefix}handshakes:${address}`, limit, windowMs, `${nodeId}:${sequence++}`),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('Redis did not answer in time')), timeoutMs))),
        ]);
        return retryMs === 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) };
      } catch {
        options.onFallback?.();
        return local;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
