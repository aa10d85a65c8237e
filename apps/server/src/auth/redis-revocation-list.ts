import type { RedisClient } from '@realtime/redis';
import type { LocalRevocations, RevocationList } from './revocation-list.js';

/**
 * Moves a user's revocation time forward, never back. Returns the time now
 * recorded. KEYS[1]: the user's key. ARGV[1]: issuedBefore (unix seconds);
 * ARGV[2]: how long to keep it (ms), set only when the time moves.
 */
const REVOKE_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]))
local wanted = tonumber(ARGV[1])
if current ~= nil and current >= wanted then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return wanted
`;

interface WithRevoke {
  revokeTokensBefore(key: string, issuedBeforeS: number, keepMs: number): Promise<number>;
}

/** One key per user, its own hash tag: any Redis Cluster slot, a single-key script. */
export function revocationKey(keyPrefix: string, userId: string): string {
  return `${keyPrefix}{u:${userId}}:revoked-before`;
}

/**
 * The cluster's list in Redis, one string per user kept until every token it
 * revokes has expired, so revocations survive node restarts. Guarantees:
 * `revokedBefore` never rejects and answers within `timeoutMs`: when Redis
 * fails or is slow it fails open to what this node remembers (revocations it
 * recorded or was told of by the cluster broadcast) and calls `onReadFailure`;
 * when both answer, the later time wins. `revoke` writes this node's memory
 * first, then Redis.
 */
export function redisRevocationList(options: {
  redis: RedisClient;
  keyPrefix: string;
  local: LocalRevocations;
  /** How long a handshake waits for Redis before failing open. */
  timeoutMs?: number;
  /** How long the API waits for a revocation to be stored before answering UNAVAILABLE. */
  writeTimeoutMs?: number;
  onReadFailure: (reason: string) => void;
}): RevocationList {
  const { redis, keyPrefix, local, timeoutMs = 1000, writeTimeoutMs = 2000 } = options;
  redis.defineCommand('revokeTokensBefore', { numberOfKeys: 1, lua: REVOKE_LUA });
  const client = redis as RedisClient & WithRevoke;
  const withinTimeout = async <T>(work: Promise<T>, ms: number): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('Redis did not answer in time')), ms))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  const later = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined ? b : b === undefined ? a : Math.max(a, b);
  return {
    async revokedBefore(userId) {
      const remembered = local.get(userId);
      try {
        const stored = await withinTimeout(client.get(revocationKey(keyPrefix, userId)), timeoutMs);
        const parsed = stored === null ? undefined : Number(stored);
        return later(remembered, Number.isFinite(parsed) ? parsed : undefined);
      } catch (err) {
        options.onReadFailure(err instanceof Error ? err.message : String(err));
        return remembered;
      }
    },
    async revoke(userId, issuedBeforeS) {
      local.remember(userId, issuedBeforeS);
      const keepMs = local.forgetAtMs(issuedBeforeS) - Date.now();
      if (keepMs <= 0) return;
      await withinTimeout(client.revokeTokensBefore(revocationKey(keyPrefix, userId), issuedBeforeS, Math.ceil(keepMs)), writeTimeoutMs);
    },
    remember: (userId, issuedBeforeS) => local.remember(userId, issuedBeforeS),
    remembered: (userId) => local.get(userId),
  };
}
