import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { connectClient, emitWithAck, nextEvent, registerTeardown, startTestRedis, uniqueKeyPrefix } from '@realtime/testing';
import { Redis } from 'ioredis';
import { startTestNode } from './support/start-test-node.js';
import { shardedRoomChannel } from '../src/room-subscriptions.js';
import { channelTopic } from '../src/topics.js';

/**
 * Pins the hooks into libraries' internals that are left. First,
 * `metrics-collector.ts` wraps the in-memory Adapter's `_encode` and
 * `apply` (socket.io-adapter) to count deliveries per kind without a cost
 * per recipient. Every adapter in use must still broadcast through them
 * (one `_encode`, then `apply` over the recipients); if an upgrade changes
 * that, these tests fail before the metric silently goes wrong.
 */
const require = createRequire(import.meta.url);

it('socket.io-adapter is the version the hook was verified against (re-verify metrics-collector.ts before changing this)', () => {
  expect((require('socket.io-adapter/package.json') as { version: string }).version).toBe('2.5.8');
});

let redisUrl: string;
beforeAll(async () => {
  const redis = await startTestRedis();
  registerTeardown(() => redis.stop());
  redisUrl = redis.url;
});

describe.each([
  ['memory (single node)', {}],
  ['Redis, classic adapter', { ADAPTER_MODE: 'classic' }],
  ['Redis, sharded adapter', { ADAPTER_MODE: 'sharded' }],
] as const)('%s', (_name, env) => {
  it('one broadcast runs one _encode and one apply, and realtime_messages_out_total grows by its recipients', async () => {
    const redisEnv = 'ADAPTER_MODE' in env ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: uniqueKeyPrefix('hooks'), ...env } : {};
    const { url, node } = await startTestNode(redisEnv);
    const members = await Promise.all([connectClient(url), connectClient(url), connectClient(url)]);
    for (const m of members) await emitWithAck(m, 'join-channel', { data: { roomChannel: 'pinned' } });
    // Presence events of the joins are out before counting.
    await vi.waitFor(() => expect(node.presence.announcedTopics).toBe(1));
    const adapter = node.io.of('/').adapter as unknown as Record<'_encode' | 'apply', (...args: unknown[]) => unknown>;
    expect(typeof adapter._encode).toBe('function');
    expect(typeof adapter.apply).toBe('function');
    const encode = vi.spyOn(adapter, '_encode');
    const apply = vi.spyOn(adapter, 'apply');
    const before = node.metrics.messagesOutTally.channel;
    const received = members.map((m) => nextEvent(m, 'pinned'));
    expect(await emitWithAck(members[0], 'pinned', { data: { roomChannel: 'pinned', message: 'x' } })).toEqual({ ok: true });
    await Promise.all(received);
    expect(node.metrics.messagesOutTally.channel - before).toBe(3);
    // The mechanism: the broadcast went through both hooks, once each (a presence event may add its own pair).
    expect(encode.mock.calls.filter((c) => (c[0] as { data?: unknown[] }).data?.[0] === 'pinned')).toHaveLength(1);
    expect(apply.mock.calls.length).toBeGreaterThanOrEqual(1);
  });
});

describe('the sharded adapter’s room channel (room-subscriptions.ts computes it to confirm a join’s subscription)', () => {
  it('is <prefix>socket.io#/#<topic>#: after a join, Redis lists exactly that shard channel', async () => {
    const keyPrefix = uniqueKeyPrefix('hooks');
    const { url } = await startTestNode({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix, ADAPTER_MODE: 'sharded' });
    const client = await connectClient(url);
    await emitWithAck(client, 'join-channel', { data: { roomChannel: 'pinned-channel' } });
    const admin = new Redis(redisUrl);
    registerTeardown(() => admin.disconnect());
    const channels = (await admin.call('PUBSUB', 'SHARDCHANNELS', `${keyPrefix}socket.io*`)) as string[];
    expect(channels).toContain(shardedRoomChannel(`${keyPrefix}socket.io`, channelTopic('pinned-channel')));
  });
});
