import { expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  record,
  registerTeardown,
  startRedisProcess,
  startServerProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';
import { vi } from 'vitest';

/** Per-command call counts from INFO commandstats. */
async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] as string, Number(match[2]));
  return calls;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [command, calls] of after) {
    const d = calls - (before.get(command) ?? 0);
    if (d > 0) out[command] = d;
  }
  return out;
}

it.each([
  ['classic', '0', 'publish'],
  ['sharded', '0', 'spublish'],
  // Recovery on: the history script stores and SPUBLISHes in the same call.
  ['classic', '120000', 'evalsha'],
  ['sharded', '120000', 'evalsha'],
] as const)(
  'ADAPTER_MODE=%s, RECOVERY_WINDOW_MS=%s: a channel message or notify-room costs exactly one Redis command, one %s (with recovery, plus one journal XADD per delivering node)',
  async (adapterMode, recoveryWindowMs, command) => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    // No heartbeat during the measurement: nothing else talks to Redis.
    const env = { HEARTBEAT_INTERVAL_MS: '60000', NODE_TTL_MS: '120000', ADAPTER_MODE: adapterMode, RECOVERY_WINDOW_MS: recoveryWindowMs };
    const keyPrefix = uniqueKeyPrefix('hot-path');
    const [n1, n2] = await Promise.all([
      startServerProcess({ nodeId: 'hot-1', redisUrl: redis.url, keyPrefix, env }),
      startServerProcess({ nodeId: 'hot-2', redisUrl: redis.url, keyPrefix, env }),
    ]);
    const sender = await connectClient(n1.url);
    const receiver = await connectClient(n2.url);
    const senderJoins = [record(sender, 'join-channel'), record(sender, 'join-room')];
    for (const s of [sender, receiver]) {
      await emitWithAck(s, 'join-channel', { data: { roomChannel: 'hot' } });
      await emitWithAck(s, 'join-room', { data: { roomChannel: 'hot', roomId: 'r' } });
    }
    // join-* events go out after the acks: wait until all four were published, or
    // one could be counted below. The sender sees its own (published before local
    // delivery in both adapters) and the receiver's (through Redis).
    await vi.waitFor(() => expect(senderJoins.map((seen) => seen.length)).toEqual([2, 2]));
    const channelGot = record<RelayedEnvelope>(receiver, 'hot');
    const roomGot = record<RelayedEnvelope>(receiver, 'notify-room');
    const admin = new Redis(redis.url);
    registerTeardown(() => admin.disconnect());

    const before = await commandCalls(admin);
    for (let i = 0; i < 100; i++) {
      await emitWithAck(sender, 'hot', { data: { roomChannel: 'hot', message: String(i) } });
      await emitWithAck(sender, 'notify-room', { data: { roomChannel: 'hot', roomId: 'r', message: String(i) } });
    }
    await vi.waitFor(() => expect([channelGot.length, roomGot.length]).toEqual([100, 100]));
    const after = await commandCalls(admin);
    // INFO itself is the only other command sent (the one that read `before`).
    // commandstats also counts the commands a script runs: the history
    // append's own (its one round trip stores, trims, expires and publishes).
    const calls = delta(before, after);
    if (command === 'evalsha') {
      // With recovery on, each node that delivers a message also writes its run journal once per
      // event-loop turn, before the delivery goes out: one XADD per turn, so at most one per message
      // per node (400 here), fewer when deliveries share a turn. Its periodic refresh (every few
      // seconds: the topics' last deliveries and the keys' expiry, in one MULTI) may fall in the window.
      const journalWrites = (calls.xadd ?? 0) - 200;
      expect(journalWrites).toBeGreaterThan(0);
      expect(journalWrites).toBeLessThanOrEqual(400);
      const refreshes = calls.multi ?? 0;
      expect(refreshes).toBeLessThanOrEqual(2);
      expect(calls).toEqual({
        evalsha: 200,
        hget: 200,
        hincrby: 200,
        xadd: 200 + journalWrites,
        pexpire: 400 + 3 * refreshes,
        spublish: 200,
        info: 1,
        ...(refreshes === 0 ? {} : { multi: refreshes, exec: refreshes, hset: calls.hset }),
      });
      expect(calls.hset ?? 0).toBeLessThanOrEqual(refreshes);
    } else {
      expect(calls).toEqual({ [command]: 200, info: 1 });
    }
  },
);
