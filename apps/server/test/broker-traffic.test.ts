import { describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  nextEvent,
  registerTeardown,
  startCluster,
  startRedisProcess,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { redisEnv } from './support/redis-env.js';

/**
 * `realtime_broker_messages_received_total`: what each node receives from
 * Redis pub/sub. 50 channels whose members all sit on node 1, 1,000
 * messages among them. In sharded mode nodes 2 and 3 are not subscribed to
 * those channels and receive (almost) none of it; in classic mode every node
 * receives every broadcast. Count announcements travel per topic, to the
 * nodes with members in it only, in both modes. The counter is read from
 * each node's /metrics.
 */
async function brokerReceived(node: ServerProcess, kind: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const match = new RegExp(`^realtime_broker_messages_received_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text);
  if (match?.[1] === undefined) throw new Error(`no realtime_broker_messages_received_total{kind="${kind}"} on ${node.nodeId}`);
  return Number(match[1]);
}

describe.each([
  ['standalone', 'sharded'],
  ['standalone', 'classic'],
  ['cluster', 'sharded'],
] as const)('broker traffic, %s Redis, ADAPTER_MODE=%s', (topology, adapterMode) => {
  it('1,000 messages in 50 channels whose members are all on node 1', async () => {
    const nodes = await startCluster(3, {
      keyPrefix: uniqueKeyPrefix('broker'),
      // The adapters' own traffic: topic events through the adapter (history-delivery.test.ts has the recovery path's).
      env: { ...(await redisEnv(topology)), ADAPTER_MODE: adapterMode, RATE_LIMIT_EVENTS_PER_SECOND: '0', RECOVERY_WINDOW_MS: '0' },
    });
    const [a, b] = await Promise.all([connectClient(nodes[0]!.url), connectClient(nodes[0]!.url)]);
    // 18-character ids: their topics would be 20 characters long, the length the sharded adapter takes for a socket id.
    const channels = Array.from({ length: 50 }, (_, i) => `local-${i}-`.padEnd(18, 'x'));
    const presenceBefore = await Promise.all(nodes.map((n) => brokerReceived(n, 'presence')));
    for (const channel of channels) {
      for (const s of [a, b]) expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: channel } })).toMatchObject({ ok: true });
    }
    const before = await Promise.all(nodes.map((n) => brokerReceived(n, 'broadcast')));
    const deliveredTo = new Map<string, number>();
    b.onAny((event: string) => {
      if (event.startsWith('local-')) deliveredTo.set(event, (deliveredTo.get(event) ?? 0) + 1);
    });
    for (let i = 0; i < 1000; i++) {
      const channel = channels[i % 50]!;
      expect(await emitWithAck(a, channel, { data: { roomChannel: channel, message: `#${i}` } })).toEqual({ ok: true });
    }
    await vi.waitFor(() => expect([...deliveredTo.values()].reduce((x, y) => x + y, 0)).toBe(1000), { timeout: 15_000 });
    expect(deliveredTo.get(channels[49]!)).toBe(20);
    const after = await Promise.all(nodes.map((n) => brokerReceived(n, 'broadcast')));
    const received = after.map((value, i) => value - before[i]!);
    const presence = (await Promise.all(nodes.map((n) => brokerReceived(n, 'presence')))).map((value, i) => value - presenceBefore[i]!);
    process.stdout.write(
      `broker messages received per node (${topology}, ${adapterMode}): broadcasts ${received.join(' / ')}, count announcements ${presence.join(' / ')}\n`,
    );
    // 100 joins: node 1 hears its own topics' counts; the others subscribe no count channel of those topics, in either mode.
    expect(presence[0]).toBeGreaterThanOrEqual(100);
    expect(presence[1]).toBe(0);
    expect(presence[2]).toBe(0);
    if (adapterMode === 'sharded') {
      // Nodes without members are not subscribed: under 5% of the traffic reaches them.
      expect(received[1]).toBeLessThan(50);
      expect(received[2]).toBeLessThan(50);
    } else {
      // Classic: one pattern subscription, so every node receives every broadcast (the last ones may still be on their way).
      await vi.waitFor(async () => {
        const now = await Promise.all(nodes.map((n) => brokerReceived(n, 'broadcast')));
        expect(now[1]! - before[1]!).toBeGreaterThanOrEqual(1000);
        expect(now[2]! - before[2]!).toBeGreaterThanOrEqual(1000);
      });
    }
  });
});

describe.each(['sharded', 'classic'] as const)('the publish guard, ADAPTER_MODE=%s', (adapterMode) => {
  it('while Redis is down, a message still reaches the members on its own node, and the dropped publish is counted', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const [node] = await startCluster(1, {
      redisUrl: redis.url,
      keyPrefix: uniqueKeyPrefix('guard'),
      env: { ADAPTER_MODE: adapterMode, RECOVERY_WINDOW_MS: '0' },
    });
    const [a, b] = await Promise.all([connectClient(node!.url), connectClient(node!.url)]);
    for (const s of [a, b]) await emitWithAck(s, 'join-channel', { data: { roomChannel: 'guarded' } });
    const dropped = async () =>
      Number(/^realtime_publish_errors_total (\d+)$/m.exec(await (await fetch(`${node!.url}/metrics`)).text())?.[1]);
    const before = await dropped();
    await redis.kill();
    await vi.waitFor(async () => expect((await fetch(`${node!.url}/readyz`)).status).toBe(503));
    const got = nextEvent<RelayedEnvelope>(b, 'guarded');
    expect(await emitWithAck(a, 'guarded', { data: { roomChannel: 'guarded', message: 'during the outage' } })).toEqual({ ok: true });
    expect((await got).data.message).toBe('during the outage');
    await vi.waitFor(async () => expect(await dropped()).toBeGreaterThan(before));
  });
});
