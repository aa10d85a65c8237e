import type { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import type { BenchCluster } from './bench-cluster.js';
import { commandCalls, commandDelta } from './redis-command-stats.js';

export interface RedisCostPerMessage {
  /** PUBLISH + SPUBLISH per channel message. */
  publishes: number;
  /** Every command Redis ran in the window (heartbeat scripts of ours included), per message. */
  all: number;
  commands: Record<string, number>;
}

/**
 * Redis commands per channel message, from INFO commandstats around
 * `messages` channel messages between two members on different nodes (after
 * their joins, so joins are not counted). Fewer than the server's default
 * rate-limit burst (400), sent one at a time.
 */
export async function redisCostPerMessage(cluster: BenchCluster, admin: Redis, messages = 300): Promise<RedisCostPerMessage> {
  const sockets: Socket[] = cluster.urls
    .slice(0, 2)
    .map((url) => io(url, { transports: ['websocket'], forceNew: true, reconnection: false }));
  try {
    await Promise.all(
      sockets.map((s) => new Promise<void>((resolve, reject) => (s.once('connect', () => resolve()), s.once('connect_error', reject)))),
    );
    const channel = 'redis-cost';
    for (const s of sockets)
      await s.timeout(10_000).emitWithAck('join-channel', { data: { message: '', roomId: null, roomChannel: channel } });
    const [sender, receiver] = sockets as [Socket, Socket];
    let received = 0;
    const all = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received} of ${messages} messages arrived within 30 s`)), 30_000);
      receiver.on(channel, () => {
        if (++received === messages) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const before = await commandCalls(admin);
    for (let i = 0; i < messages; i++) {
      const ack = (await sender
        .timeout(10_000)
        .emitWithAck(channel, { data: { message: String(i), roomId: null, roomChannel: channel } })) as { ok?: boolean };
      if (ack.ok !== true) throw new Error(`channel message refused: ${JSON.stringify(ack)}`);
    }
    await all;
    const delta = commandDelta(before, await commandCalls(admin));
    const publishes = (delta.publish ?? 0) + (delta.spublish ?? 0);
    const total = Object.values(delta).reduce((a, b) => a + b, 0);
    return { publishes: publishes / messages, all: total / messages, commands: delta };
  } finally {
    for (const s of sockets) s.disconnect();
  }
}
