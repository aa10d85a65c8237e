import { Cluster, Redis } from 'ioredis';
import { registerTeardown, startRedisCluster, startRedisSentinelSet, startTestRedis, type RedisCluster } from '@realtime/testing';

export type TopologyClient = Redis | Cluster;

/** One running Redis deployment: a new client per call (subscribers of a Cluster get one sharded subscriber per master). */
export interface RunningTopology {
  client(role: 'commands' | 'subscriber'): TopologyClient;
  /** The cluster's processes, for slot and master lookups (Redis Cluster only). */
  cluster: RedisCluster | undefined;
}

/**
 * Every Redis topology the product supports, each started as real
 * processes with its teardown registered: standalone, a Sentinel set (the
 * clients talk to the master the sentinels name), and a Redis Cluster of 3
 * masters + 3 replicas (Cluster clients, as the server's).
 */
export const REDIS_TOPOLOGIES: Record<'standalone' | 'sentinel' | 'cluster', () => Promise<RunningTopology>> = {
  standalone: async () => {
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    return { client: () => new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 }), cluster: undefined };
  },
  sentinel: async () => {
    const set = await startRedisSentinelSet();
    return {
      client: () => new Redis({ sentinels: [...set.sentinels], name: set.masterName, lazyConnect: true, maxRetriesPerRequest: 1 }),
      cluster: undefined,
    };
  },
  cluster: async () => {
    const redis = await startRedisCluster();
    return {
      client: (role) =>
        new Cluster([...redis.seeds], {
          lazyConnect: true,
          shardedSubscribers: role === 'subscriber',
          redisOptions: { maxRetriesPerRequest: 1 },
        }),
      cluster: redis,
    };
  },
};
