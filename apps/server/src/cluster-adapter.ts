import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { ServerOptions } from 'socket.io';
import type { Config } from './config.js';
import type { RedisConnections } from '@realtime/redis';

/** The prefix of the adapter's pub/sub channels. */
export function adapterChannelPrefix(config: Config): string {
  return `${config.redisKeyPrefix}socket.io`;
}

/** The Socket.IO adapter for a cluster node, per ADAPTER_MODE (see config.ts). */
export function clusterAdapter(config: Config, redis: RedisConnections): ServerOptions['adapter'] {
  const prefix = adapterChannelPrefix(config);
  if (config.adapterMode === 'sharded') {
    // "dynamic": one sharded channel per room (topic), subscribed while this
    // node has members in it; socket-id rooms stay on the main channel.
    return createShardedAdapter(redis.publisher, redis.subscriber, { channelPrefix: prefix, subscriptionMode: 'dynamic' });
  }
  return createAdapter(redis.publisher, redis.subscriber, { key: prefix });
}
