import { expect, it } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  nextEvent,
  registerTeardown,
  startCluster,
  startRedisProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';

async function subscriberErrors(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^realtime_redis_errors_total\{connection="(?:subscriber|shardedSubscriber)"\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

/**
 * Classic adapter (PSUBSCRIBE) and per-topic count channels (SSUBSCRIBE) on
 * one ioredis connection broke it: Redis counts sharded subscriptions apart,
 * so the SUNSUBSCRIBE of a node's last topic answered 0, ioredis left
 * subscriber mode, and the next broadcast on the pattern made it fail and
 * reconnect (messages lost meanwhile). They now have separate connections.
 */
it("ADAPTER_MODE=classic: a node's last topic emptying does not break its subscriber; broadcasts keep arriving", async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const [a, b] = await startCluster(2, { redisUrl: redis.url, keyPrefix: uniqueKeyPrefix('subs'), env: { ADAPTER_MODE: 'classic' } });
  const onB = await connectClient(b!.url);
  const onA = await connectClient(a!.url);
  await emitWithAck(onB, 'join-channel', { data: { roomChannel: 'only' } });
  // b's last topic empties: its count channel is unsubscribed, the last sharded subscription of its connection.
  await emitWithAck(onB, 'leave-channel', { data: { roomChannel: 'only' } });
  await emitWithAck(onA, 'join-channel', { data: { roomChannel: 'elsewhere' } });
  // Classic pub/sub: b receives these on its pattern subscription though it has no member in the channel.
  for (let i = 0; i < 20; i++) await emitWithAck(onA, 'elsewhere', { data: { roomChannel: 'elsewhere', message: String(i) } });
  await emitWithAck(onB, 'join-channel', { data: { roomChannel: 'elsewhere' } });
  const got = nextEvent<RelayedEnvelope>(onB, 'elsewhere');
  await emitWithAck(onA, 'elsewhere', { data: { roomChannel: 'elsewhere', message: 'after' } });
  expect((await got).data.message).toBe('after');
  expect(await subscriberErrors(b!.url)).toBe(0);
});
