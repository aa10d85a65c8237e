import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import {
  connectRawEngineIo,
  pollUntil,
  registerTeardown,
  startCluster,
  startRedisProcess,
  startServerProcess,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { attemptConnect, mustConnect, simultaneousHandshakes, type ConnectOutcome } from './support/connect-attempt.js';
import { redisEnv, type RedisTopologyName } from './support/redis-env.js';
import { redisClientFor } from './support/redis-client.js';
import { HS_SECRET, signToken } from './support/tokens.js';
import { metricSum } from './support/node-metrics.js';

/**
 * Issue "trust", section 6: MAX_CONNECTIONS_PER_USER — connections per
 * authenticated user (token `sub`) counted across the cluster in Redis,
 * exact under concurrent handshakes on several nodes; the slots of a
 * `kill -9`ed node free within NODE_TTL_MS; excess handshakes are refused
 * with `connect_error` CONNECTION_LIMIT. Real node processes, real Redis
 * (standalone and Redis Cluster), real socket.io-client over real sockets.
 */

const AUTH = { AUTH_MODE: 'optional', AUTH_JWT_SECRET: HS_SECRET };
const LIMIT = 3;
const LIMIT_MESSAGE = 'this user already has 3 connections (MAX_CONNECTIONS_PER_USER): close one, or retry later';

const newUser = (): string => `user-${randomUUID().slice(0, 8)}`;
const tokenFor = (userId: string): Promise<string> => signToken(HS_SECRET, { sub: userId });

const REFUSALS = 'realtime_auth_refusals_total{code="CONNECTION_LIMIT"}';
const FALLBACKS = 'realtime_connection_limit_fallbacks_total';

function expectLimitRefusal(outcome: ConnectOutcome): void {
  expect(outcome).toEqual({ ok: false, message: 'CONNECTION_LIMIT', data: { code: 'CONNECTION_LIMIT', message: LIMIT_MESSAGE } });
}

/** The user's lease set as the scripts see it: the Redis server's clock (ms) and each lease's expiry, read in one script. */
async function leases(redis: Redis | Cluster, key: string): Promise<{ nowMs: number; ttlMs: number; leases: Map<string, number> }> {
  const [sec, usec, ttlMs, flat] = (await redis.eval(
    "local t = redis.call('TIME') return {t[1], t[2], redis.call('PTTL', KEYS[1]), redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}",
    1,
    key,
  )) as [string, string, number, string[]];
  const found = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) found.set(flat[i] as string, Number(flat[i + 1]));
  return { nowMs: Number(sec) * 1000 + Math.floor(Number(usec) / 1000), ttlMs, leases: found };
}

describe.each(['standalone', 'cluster'] as RedisTopologyName[])('MAX_CONNECTIONS_PER_USER=3 on three nodes (%s Redis)', (topology) => {
  let env: Record<string, string>;
  let keyPrefix: string;
  let nodes: ServerProcess[];
  let redis: Redis | Cluster;
  beforeAll(async () => {
    env = await redisEnv(topology);
    keyPrefix = uniqueKeyPrefix('user-limit');
    redis = redisClientFor(env);
    // A long lease: within these tests only a release, never an expiry, can free a slot.
    nodes = await startCluster(3, {
      keyPrefix,
      namePrefix: `limit-${topology}`,
      env: { ...env, ...AUTH, MAX_CONNECTIONS_PER_USER: String(LIMIT), HEARTBEAT_INTERVAL_MS: '1000', NODE_TTL_MS: '60000' },
    });
  }, 120_000);

  const urls = (): string[] => nodes.map((n) => n.url);

  it('20 concurrent handshakes of one user spread over the nodes: exactly 3 connect, 17 are refused CONNECTION_LIMIT', async () => {
    const token = await tokenFor(newUser());
    const refusalsBefore = await metricSum(nodes, REFUSALS);
    const outcomes = await simultaneousHandshakes(urls(), token, 20);
    const connected = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    expect(connected).toHaveLength(3);
    expect(refused).toHaveLength(17);
    for (const outcome of refused) expectLimitRefusal(outcome);
    expect(await metricSum(nodes, REFUSALS)).toBe(refusalsBefore + 17);
    // Every decision was Redis's: none fell back to a node's own count.
    expect(await metricSum(nodes, FALLBACKS)).toBe(0);
    // The refused left nothing behind: the user holds exactly its three connections.
    expect(await mustConnectOrRefuse(urls()[0] as string, token)).toBe('refused');
  });

  it('a disconnect frees its slot at once: another connection of that user gets in, on another node; the key expires and goes with the last one', async () => {
    const userId = newUser();
    const token = await tokenFor(userId);
    const held = [
      await mustConnect(urls()[0] as string, token),
      await mustConnect(urls()[1] as string, token),
      await mustConnect(urls()[2] as string, token),
    ];
    expectLimitRefusal(await attemptConnect(urls()[2] as string, token));
    const key = `${keyPrefix}{u:${userId}}:conns`;
    const state = await leases(redis, key);
    expect(state.leases.size).toBe(3);
    // Every key has an expiry, no longer than a lease.
    expect(state.ttlMs).toBeGreaterThan(0);
    expect(state.ttlMs).toBeLessThanOrEqual(60_000);

    held[0]?.disconnect();
    // The lease would live a minute: only the release can let this in (polled: the node hears the close asynchronously).
    const replacement = await pollUntil('a new connection of the user after one closed', 10_000, async () => {
      const outcome = await attemptConnect(urls()[2] as string, token, 'polling');
      return outcome.ok ? outcome.socket : undefined;
    });
    expectLimitRefusal(await attemptConnect(urls()[1] as string, token));

    for (const socket of [...held, replacement]) socket?.disconnect();
    await pollUntil('the lease set gone with the last connection', 10_000, async () =>
      (await redis.exists(key)) === 0 ? true : undefined,
    );
  });

  it('a handshake that fails after taking its slot gives it back: a second CONNECT on one connection, clients gone mid-handshake', async () => {
    const token = await tokenFor(newUser());
    const connect = `40${JSON.stringify({ token })}`;
    // Two CONNECTs on one Engine.IO connection, back to back: both pass the limit, the one-socket rule refuses one.
    const raw = await connectRawEngineIo(urls()[0] as string);
    raw.send(connect);
    raw.send(connect);
    await raw.waitForFrame((f) => f.startsWith('40{'));
    const refusal = await raw.waitForFrame((f) => f.startsWith('44'));
    expect(JSON.parse(refusal.slice(2))).toMatchObject({
      data: { code: 'CONNECTION_LIMIT', message: expect.stringContaining('already has a socket') },
    });
    // Clients that send their CONNECT and go away at once (Socket.IO drops such a socket without a disconnect).
    for (let i = 0; i < 3; i++) {
      const gone = await connectRawEngineIo(urls()[1] as string);
      gone.send(connect);
      gone.close();
    }
    // Only the raw connection holds a slot: two more connections fit (once the nodes have seen the closes), the next does not.
    for (let i = 0; i < 2; i++) {
      await pollUntil('a free slot', 10_000, async () => ((await attemptConnect(urls()[2] as string, token)).ok ? true : undefined));
    }
    expectLimitRefusal(await attemptConnect(urls()[0] as string, token));
  });

  it('another user is not affected by a user at its limit, and has its own', async () => {
    const first = await tokenFor(newUser());
    for (const url of urls()) await mustConnect(url, first);
    expectLimitRefusal(await attemptConnect(urls()[0] as string, first));
    const second = await tokenFor(newUser());
    for (const url of urls()) await mustConnect(url, second, 'polling');
    expectLimitRefusal(await attemptConnect(urls()[1] as string, second));
  });

  it('anonymous connections (AUTH_MODE=optional, no token) take no slot and are never refused for it', async () => {
    const token = await tokenFor(newUser());
    for (const url of urls()) await mustConnect(url, token);
    const anonymous = await Promise.all(Array.from({ length: 10 }, (_, i) => attemptConnect(urls()[i % 3] as string, undefined)));
    expect(anonymous.every((o) => o.ok)).toBe(true);
    expectLimitRefusal(await attemptConnect(urls()[2] as string, token));
  });

  it('kill -9 of a node holding 2 of the user’s 3 slots: they free on the survivors within NODE_TTL_MS, not before their leases expire', async () => {
    const ttlMs = 1500;
    const [dead, survivor, other] = await startCluster(3, {
      keyPrefix,
      namePrefix: `kill-${topology}`,
      env: { ...env, ...AUTH, MAX_CONNECTIONS_PER_USER: String(LIMIT), HEARTBEAT_INTERVAL_MS: '250', NODE_TTL_MS: String(ttlMs) },
    });
    if (dead === undefined || survivor === undefined || other === undefined) throw new Error('three nodes');
    const userId = newUser();
    const token = await tokenFor(userId);
    await mustConnect(dead.url, token);
    await mustConnect(dead.url, token, 'polling');
    await mustConnect(survivor.url, token);
    expectLimitRefusal(await attemptConnect(other.url, token));

    dead.signal('SIGKILL');
    await dead.exited;
    const key = `${keyPrefix}{u:${userId}}:conns`;
    const atKill = await leases(redis, key);
    const deadLeases = [...atKill.leases].filter(([member]) => member.startsWith(`${dead.nodeId}/`)).map(([, expiresAt]) => expiresAt);
    expect(deadLeases).toHaveLength(2);
    // On the Redis clock, the dead node's slots free within NODE_TTL_MS of its death (its last renewal was before it).
    for (const expiresAt of deadLeases) expect(expiresAt).toBeLessThanOrEqual(atKill.nowMs + ttlMs);
    const [firstFree, secondFree] = deadLeases.sort((a, b) => a - b) as [number, number];

    // Every attempt is bracketed by the Redis clock: while the user is at its limit until `freeAt`, a refusal
    // must have started before `freeAt` and an admission must have ended after it.
    const violations: string[] = [];
    const probe = async (url: string, freeAt: number): Promise<true | undefined> => {
      const before = (await leases(redis, key)).nowMs;
      const outcome = await attemptConnect(url, token);
      const after = (await leases(redis, key)).nowMs;
      if (outcome.ok) {
        if (after < freeAt) violations.push(`admitted by ${after}, before the dead lease expired at ${freeAt}`);
        return true;
      }
      if (outcome.data?.code !== 'CONNECTION_LIMIT') violations.push(`refused ${outcome.message}`);
      if (before >= freeAt) violations.push(`refused from ${before}, after the dead lease expired at ${freeAt}`);
      return undefined;
    };
    // Within the TTL (+ a renewal period), with room for a loaded machine.
    await pollUntil('a slot of the dead node free on a survivor', ttlMs + 250 + 5000, () => probe(other.url, firstFree), 20);
    await pollUntil('the second slot of the dead node free', ttlMs + 250 + 5000, () => probe(survivor.url, secondFree), 20);
    expect(violations).toEqual([]);
    // The limit holds again: 1 + 2 connections on the survivors.
    expectLimitRefusal(await attemptConnect(other.url, token));
  });
});

/** Whether a further connection of the token's user would be admitted right now (closing it if so). */
async function mustConnectOrRefuse(url: string, token: string): Promise<'connected' | 'refused'> {
  const outcome = await attemptConnect(url, token);
  if (outcome.ok) {
    outcome.socket.disconnect();
    return 'connected';
  }
  expectLimitRefusal(outcome);
  return 'refused';
}

describe('MAX_CONNECTIONS_PER_USER without Redis, and while Redis is down', () => {
  it('a node without Redis counts on its own, exactly: 10 concurrent handshakes, 2 connect; a disconnect frees one', async () => {
    const node = await startServerProcess({ nodeId: 'limit-embedded', env: { ...AUTH, MAX_CONNECTIONS_PER_USER: '2' } });
    const token = await tokenFor(newUser());
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => attemptConnect(node.url, token, i % 2 === 0 ? 'websocket' : 'polling')),
    );
    const connected = outcomes.filter((o) => o.ok);
    expect(connected).toHaveLength(2);
    for (const outcome of outcomes.filter((o) => !o.ok)) {
      expect(outcome).toMatchObject({
        ok: false,
        message: 'CONNECTION_LIMIT',
        data: { code: 'CONNECTION_LIMIT', message: expect.stringContaining('2 connections') },
      });
    }
    expect(await metricSum([node], REFUSALS)).toBe(8);
    const [first] = connected;
    if (first?.ok) first.socket.disconnect();
    await pollUntil('a connection after one closed', 10_000, async () => ((await attemptConnect(node.url, token)).ok ? true : undefined));
  });

  it('with Redis down, the node decides on its own count with the same limit, and counts the fallbacks', async () => {
    const redisProcess = await startRedisProcess();
    registerTeardown(() => redisProcess.stop());
    const node = await startServerProcess({
      nodeId: 'limit-fallback',
      redisUrl: redisProcess.url,
      keyPrefix: uniqueKeyPrefix('user-limit'),
      env: { ...AUTH, MAX_CONNECTIONS_PER_USER: '2' },
    });
    const token = await tokenFor(newUser());
    await mustConnect(node.url, token);
    expect(await metricSum([node], FALLBACKS)).toBe(0);
    await redisProcess.kill();
    // The node knows its one connection: one more fits, the next does not.
    await mustConnect(node.url, token);
    expect((await attemptConnect(node.url, token)).ok).toBe(false);
    // Another user is still admitted: an outage does not refuse everyone.
    await mustConnect(node.url, await tokenFor(newUser()));
    expect(await metricSum([node], FALLBACKS)).toBeGreaterThanOrEqual(3);
    const warnings = node.logs.filter((l) => l.event === 'connection-limit-fallback');
    // Logged, but not once per handshake.
    expect(warnings).toHaveLength(1);
  });
});
