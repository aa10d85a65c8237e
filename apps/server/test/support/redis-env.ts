import { registerTeardown, startRedisCluster, startRedisSentinelSet, startTestRedis } from '@realtime/testing';

export type RedisTopologyName = 'standalone' | 'sentinel' | 'cluster';

/**
 * A real Redis of the given topology for one test or suite (torn down with
 * it), as the environment that points a node at it: REDIS_URL, REDIS_SENTINELS
 * + REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES.
 */
export async function redisEnv(topology: RedisTopologyName): Promise<Record<string, string>> {
  switch (topology) {
    case 'standalone': {
      const redis = await startTestRedis();
      registerTeardown(() => redis.stop());
      return { REDIS_URL: redis.url };
    }
    case 'sentinel': {
      const set = await startRedisSentinelSet();
      return { REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_MASTER: set.masterName };
    }
    case 'cluster': {
      const cluster = await startRedisCluster();
      return { REDIS_CLUSTER_NODES: cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',') };
    }
  }
}
