import type { RedisClient } from '@realtime/redis';
import type { RealtimeServer } from './socket-types.js';
import { isTopic } from './topics.js';

/**
 * The sharded pub/sub channel `@socket.io/redis-adapter`'s sharded adapter
 * uses for one room in "dynamic" mode: `<channelPrefix>#<namespace>#<room>#`.
 * The adapter keeps this private (ShardedRedisAdapter.dynamicChannel);
 * `test/adapter-hooks.test.ts` pins it against the installed version.
 */
export function shardedRoomChannel(channelPrefix: string, room: string, namespace = '/'): string {
  return `${channelPrefix}#${namespace}#${room}#`;
}

/** Resolves once this node receives what other nodes publish to a topic. */
export interface RoomSubscriptions {
  ready(topic: string): Promise<void>;
  /**
   * Subscribes every local topic's channel again and resolves once Redis
   * answered all (rejects if one failed): after a failover or a slot move,
   * proof that the adapter's subscriptions are in place at the slots' owners.
   */
  reconfirm(): Promise<void>;
}

/** Classic mode and a single node: every node receives everything already. */
export const ALWAYS_SUBSCRIBED: RoomSubscriptions = { ready: () => Promise.resolve(), reconfirm: () => Promise.resolve() };

/**
 * In sharded mode the adapter subscribes a room's channel when the room
 * gets its first local member, without waiting for Redis to confirm it:
 * until then, messages other nodes publish to the room are lost to this
 * node, though the member has joined. A join waits here before it is
 * acknowledged: one more SSUBSCRIBE of the same channel, on the connection
 * the adapter's went out on (the same one per slot), answered after it.
 * Guarantee: after a join's ack, every message published to its channel
 * or room from any node reaches the member (while Redis is up).
 */
export function roomSubscriptions(io: RealtimeServer, subscriber: RedisClient, channelPrefix: string): RoomSubscriptions {
  const confirming = new Map<string, Promise<void>>();
  const adapter = io.of('/').adapter;
  adapter.on('create-room', (room: string) => {
    if (!isTopic(room)) return;
    // A failure (Redis down) leaves delivery at most once, as any outage does; the join goes on.
    const done = subscriber.ssubscribe(shardedRoomChannel(channelPrefix, room)).then(
      () => undefined,
      () => undefined,
    );
    confirming.set(room, done);
    void done.then(() => {
      if (confirming.get(room) === done) confirming.delete(room);
    });
  });
  adapter.on('delete-room', (room: string) => confirming.delete(room));
  return {
    ready: (topic) => confirming.get(topic) ?? Promise.resolve(),
    async reconfirm() {
      const topics = [...adapter.rooms.keys()].filter(isTopic);
      await Promise.all(topics.map((room) => subscriber.ssubscribe(shardedRoomChannel(channelPrefix, room))));
    },
  };
}
