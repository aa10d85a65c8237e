import { Cluster, Redis } from 'ioredis';
import { registerTeardown } from '@realtime/testing';

/** A command client on the Redis that `redisEnv` (standalone or cluster) points nodes at, closed with the test or suite. */
export function redisClientFor(env: Record<string, string>): Redis | Cluster {
  const seeds = env.REDIS_CLUSTER_NODES;
  const client =
    seeds === undefined
      ? new Redis(env.REDIS_URL as string, { maxRetriesPerRequest: 1 })
      : new Cluster(
          seeds.split(',').map((seed) => {
            const [host, port] = seed.split(':');
            return { host: host as string, port: Number(port) };
          }),
        );
  registerTeardown(() => client.quit().catch(() => client.disconnect()));
  return client;
}
