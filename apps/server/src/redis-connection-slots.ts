import type { RedisClient } from '@realtime/redis';
import { LocalSlots, type ConnectionSlots } from './connection-slots.js';

/**
 * The Redis layout: one sorted set per user,
 * `<prefix>{u:<userId>}:conns`, whose members are `<nodeId>/<socketId>` and
 * whose scores are each lease's expiry in ms on the Redis server's clock
 * (TIME inside the scripts: node clocks never enter). The hash tag keeps all
 * of one user's keys in one Cluster slot. Every write sets the key's expiry
 * to the lease, and no lease outlives the last write by more, so a key
 * always outlives its leases and then goes: nothing grows without bound.
 */
export function connectionSlotsKey(keyPrefix: string, userId: string): string {
  return `${keyPrefix}{u:${userId}}:conns`;
}

/**
 * KEYS[1]: the user's lease set. ARGV[1]: the limit; ARGV[2]: the lease in
 * ms; ARGV[3]: the member. Atomically: drops expired leases, counts, and
 * adds the member if under the limit (a member already in holds its slot:
 * a retried call is idempotent). Returns 1 when the member holds a slot, else 0.
 */
const ACQUIRE_LUA = `
local limit, lease, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], member) and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, member)
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

/**
 * KEYS[1]: the user's lease set. ARGV[1]: the lease in ms; ARGV[2..]: the
 * members this node holds for the user. Drops expired leases and sets every
 * member's lease to now + lease: also one the node admitted on its own count
 * while Redis was down, so the cluster's count catches up with the truth.
 */
const RENEW_LUA = `
local lease = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease)
return 0
`;

interface WithSlotScripts {
  acquireConnectionSlot(key: string, limit: number, leaseMs: number, member: string): Promise<number>;
  renewConnectionSlots(key: string, leaseMs: number, ...members: string[]): Promise<number>;
}

export interface RedisConnectionSlotsOptions {
  redis: RedisClient;
  keyPrefix: string;
  nodeId: string;
  limit: number;
  /** How long a lease lives unrenewed: NODE_TTL_MS, so a dead node's slots free when the node counts as dead. */
  leaseMs: number;
  /** How often this node renews its leases: HEARTBEAT_INTERVAL_MS (at most half the lease, by config). */
  renewIntervalMs: number;
  /** An acquisition Redis has not answered within this is decided on the node's own count. Default 1 000. */
  timeoutMs?: number;
  /** An acquisition was decided on the node's own count (Redis failed or was slow). */
  onFallback(err: unknown): void;
  /** A renewal or a release failed (the lease then expires on its own within `leaseMs`). */
  onRedisError(operation: 'renew' | 'release', err: unknown): void;
}

/**
 * Cluster-wide and exact through Redis: one script checks and takes a slot
 * atomically, so concurrent handshakes on any number of nodes never admit
 * more than the limit. Guarantees:
 * - a slot is given back at once when its connection ends (ZREM), and a
 *   node that dies without giving them back (`kill -9`) stops renewing, so
 *   its slots free within `leaseMs` of its last renewal;
 * - a renewal costs one command per user with connections on this node per
 *   `renewIntervalMs`, issued in one turn (auto-pipelined);
 * - Redis failures never reach the handshake: when the script fails or has
 *   not answered within `timeoutMs`, the node decides on its own count of the
 *   user's connections it admitted (the same limit, exact on this node, so
 *   an outage neither refuses everyone nor lifts the limit per node). Should
 *   the late script still take a slot the node refused, it is given back.
 */
export function redisConnectionSlots(options: RedisConnectionSlotsOptions): ConnectionSlots {
  const { redis, keyPrefix, nodeId, limit, leaseMs, timeoutMs = 1000 } = options;
  redis.defineCommand('acquireConnectionSlot', { numberOfKeys: 1, lua: ACQUIRE_LUA });
  redis.defineCommand('renewConnectionSlots', { numberOfKeys: 1, lua: RENEW_LUA });
  const client = redis as RedisClient & WithSlotScripts;
  const local = new LocalSlots();
  const memberOf = (connectionId: string): string => `${nodeId}/${connectionId}`;

  const giveBack = (userId: string, connectionId: string): void => {
    client
      .zrem(connectionSlotsKey(keyPrefix, userId), memberOf(connectionId))
      .catch((err: unknown) => options.onRedisError('release', err));
  };

  let renewing = false;
  const renew = (): void => {
    // One round at a time: a Redis slow enough to overlap rounds is failing them anyway.
    if (renewing) return;
    const calls: Promise<unknown>[] = [];
    for (const [userId, held] of local.users()) {
      calls.push(
        client
          .renewConnectionSlots(connectionSlotsKey(keyPrefix, userId), leaseMs, ...[...held].map(memberOf))
          .catch((err: unknown) => options.onRedisError('renew', err)),
      );
    }
    if (calls.length === 0) return;
    renewing = true;
    void Promise.all(calls).finally(() => (renewing = false));
  };
  const timer = setInterval(renew, options.renewIntervalMs);
  timer.unref();

  return {
    async acquire(userId, connectionId) {
      const script = client.acquireConnectionSlot(connectionSlotsKey(keyPrefix, userId), limit, leaseMs, memberOf(connectionId));
      let timeout: NodeJS.Timeout | undefined;
      let taken: boolean;
      try {
        const reply = await Promise.race([
          script,
          new Promise<never>((_, reject) => (timeout = setTimeout(() => reject(new Error('Redis did not answer in time')), timeoutMs))),
        ]);
        taken = reply === 1;
      } catch (err) {
        options.onFallback(err);
        // Checked and taken in one synchronous step: exact on this node.
        taken = local.count(userId) < limit;
        if (!taken) script.then((reply) => reply === 1 && giveBack(userId, connectionId)).catch(() => undefined);
      } finally {
        clearTimeout(timeout);
      }
      if (taken) local.add(userId, connectionId);
      return taken;
    },
    release(userId, connectionId) {
      if (local.delete(userId, connectionId)) giveBack(userId, connectionId);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
