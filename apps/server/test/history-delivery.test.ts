import { describe, expect, it, vi } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import { RedisTopicHistory, type RedisCommandClient } from '@realtime/presence';
import {
  connectClient,
  emitWithAck,
  nextEvent,
  record,
  registerTeardown,
  startCluster,
  startRedisProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';
import { channelTopic } from '../src/topics.js';
import { metric } from './support/node-metrics.js';
import { redisEnv } from './support/redis-env.js';

/**
 * RECOVERY_WINDOW_MS > 0: every topic event goes through the topic's
 * history (one script stores it and publishes it on the topic's slot) and
 * every node, the sender's included, delivers it from its subscription to
 * that channel. What users see: one order of a channel's messages on every
 * node, each message once, and an acknowledged message stored.
 */
const RECOVERY = { RECOVERY_WINDOW_MS: '120000', RATE_LIMIT_EVENTS_PER_SECOND: '0' };

/** A command connection to the test's Redis, from the environment the nodes got. */
function commandClient(env: Record<string, string>): RedisCommandClient {
  const client: RedisCommandClient =
    env.REDIS_CLUSTER_NODES !== undefined
      ? new Cluster(
          env.REDIS_CLUSTER_NODES.split(',').map((seed) => {
            const [host, port] = seed.split(':');
            return { host: host as string, port: Number(port) };
          }),
        )
      : new Redis(env.REDIS_URL as string);
  registerTeardown(() => client.disconnect());
  return client;
}

/** The message texts of `channel` a socket receives, in arrival order. */
function messagesOf(socket: Socket, channel: string): string[] {
  const seen: string[] = [];
  socket.on(channel, (envelope: RelayedEnvelope) => seen.push(envelope.data.message));
  return seen;
}

describe.each([
  ['standalone', 'classic'],
  ['standalone', 'sharded'],
  ['cluster', 'sharded'],
] as const)('topic history delivery, %s Redis, ADAPTER_MODE=%s', (topology, adapterMode) => {
  it('three senders on three nodes: every member receives every message once, all in one order, and the history holds that order', async () => {
    const env = await redisEnv(topology);
    const keyPrefix = uniqueKeyPrefix('history-order');
    const nodes = await startCluster(3, { keyPrefix, env: { ...env, ...RECOVERY, ADAPTER_MODE: adapterMode } });
    // Two members on each node; the first of each also sends.
    const members = await Promise.all(nodes.flatMap((node) => [connectClient(node.url), connectClient(node.url)]));
    for (const m of members) expect(await emitWithAck(m, 'join-channel', { data: { roomChannel: 'order' } })).toMatchObject({ ok: true });
    const seen = members.map((m) => messagesOf(m, 'order'));
    const senders = [members[0]!, members[2]!, members[4]!];
    const perSender = 40;
    // Interleaved: every sender's messages are in flight at once.
    const acks = await Promise.all(
      senders.flatMap((sender, s) =>
        Array.from({ length: perSender }, (_, i) => emitWithAck(sender, 'order', { data: { roomChannel: 'order', message: `${s}:${i}` } })),
      ),
    );
    expect(acks.every((ack) => ack.ok)).toBe(true);
    const total = senders.length * perSender;
    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual(seen.map(() => total)), { timeout: 15_000 });
    for (const s of seen) expect(new Set(s).size).toBe(total);
    // One order everywhere, though each sender's node got its own messages' replies first.
    for (const s of seen.slice(1)) expect(s).toEqual(seen[0]);
    // Acknowledged means stored: the history holds exactly the delivered sequence after the joins.
    const history = new RedisTopicHistory({ redis: commandClient(env), keyPrefix });
    const topic = channelTopic('order');
    const top = await history.position(topic);
    const stored = await history.since(topic, { offset: 0, epoch: top.epoch, tag: '' }, 1000);
    if (!stored.ok) throw new Error(`history refused: ${stored.reason}`);
    const storedMessages = stored.items
      .map((item) => JSON.parse(item.payload) as [string, RelayedEnvelope])
      .filter(([event]) => event === 'order')
      .map(([, envelope]) => envelope.data.message);
    expect(storedMessages).toEqual(seen[0]);
    // The joins were stored too (all six join-channel events), in front of the messages.
    expect(stored.items).toHaveLength(6 + total);
  });

  it('a member that joined without an ack and has seen its own join-channel receives what another node sends right after', async () => {
    const env = await redisEnv(topology);
    const nodes = await startCluster(2, {
      keyPrefix: uniqueKeyPrefix('history-join'),
      env: { ...env, ...RECOVERY, ADAPTER_MODE: adapterMode },
    });
    const sender = await connectClient(nodes[0]!.url);
    const rounds = 30;
    let received = 0;
    for (let round = 0; round < rounds; round++) {
      // A new channel each round: its subscription on node 2 is new too.
      const channel = `fresh-${round}`;
      expect(await emitWithAck(sender, 'join-channel', { data: { roomChannel: channel } })).toMatchObject({ ok: true });
      const joiner = await connectClient(nodes[1]!.url);
      const ownJoin = nextEvent<RelayedEnvelope>(joiner, 'join-channel', (e) => e.clientId === joiner.id);
      // As the guide's clients do: no ack to wait for, only the join-channel event.
      joiner.emit('join-channel', { data: { roomChannel: channel } });
      await ownJoin;
      const got = nextEvent<RelayedEnvelope>(joiner, channel, () => true, 5000);
      expect(await emitWithAck(sender, channel, { data: { roomChannel: channel, message: 'right after' } })).toEqual({ ok: true });
      if (
        (await got.then(
          () => true,
          () => false,
        )) === true
      )
        received += 1;
      joiner.disconnect();
    }
    expect(received).toBe(rounds);
  });

  it('a node with no members in a topic receives none of its history traffic', async () => {
    const env = await redisEnv(topology);
    const nodes = await startCluster(3, {
      keyPrefix: uniqueKeyPrefix('history-traffic'),
      env: { ...env, ...RECOVERY, ADAPTER_MODE: adapterMode },
    });
    const [a, b] = await Promise.all([connectClient(nodes[0]!.url), connectClient(nodes[0]!.url)]);
    const joinsSeenByB = record<RelayedEnvelope>(b, 'join-channel');
    for (const s of [a, b]) expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: 'local' } })).toMatchObject({ ok: true });
    // The join events travel through the history too, after the acks: counted before the window opens, not in it.
    // b sees its own; a's too when it reached this node's members after b had joined.
    await vi.waitFor(() => expect(joinsSeenByB.map((e) => e.clientId)).toContain(b.id));
    await vi.waitFor(async () => expect(await metric(nodes[0]!, 'realtime_broker_messages_received_total{kind="history"}')).toBe(2));
    const series = 'realtime_broker_messages_received_total{kind="history"}';
    const before = await Promise.all(nodes.map((n) => metric(n, series)));
    const got = messagesOf(b, 'local');
    for (let i = 0; i < 200; i++)
      expect(await emitWithAck(a, 'local', { data: { roomChannel: 'local', message: String(i) } })).toEqual({ ok: true });
    await vi.waitFor(() => expect(got).toHaveLength(200), { timeout: 10_000 });
    const after = await Promise.all(nodes.map((n) => metric(n, series)));
    const received = after.map((value, i) => value - before[i]!);
    // Node 1 receives each message once (it delivers its own members' messages from its subscription); nodes 2 and 3 nothing.
    expect(received).toEqual([200, 0, 0]);
  });
});

it('while Redis is down, members of one node still receive each other’s messages, and the failed appends are counted', async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const [node] = await startCluster(1, { keyPrefix: uniqueKeyPrefix('history-outage'), redisUrl: redis.url, env: RECOVERY });
  const [a, b] = await Promise.all([connectClient(node!.url), connectClient(node!.url)]);
  for (const s of [a, b]) expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: 'outage' } })).toMatchObject({ ok: true });
  const got = messagesOf(b, 'outage');
  await redis.kill();
  for (let i = 0; i < 20; i++)
    expect(await emitWithAck(a, 'outage', { data: { roomChannel: 'outage', message: String(i) } })).toEqual({ ok: true });
  await vi.waitFor(() => expect(got).toHaveLength(20), { timeout: 10_000 });
  expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  expect(await metric(node!, 'realtime_history_appends_total{result="failed"}')).toBeGreaterThanOrEqual(20);
});
