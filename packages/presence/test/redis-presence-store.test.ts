import { beforeAll, describe, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { registerTeardown, startRedisSentinelSet, startTestRedis, uniqueKeyPrefix } from '@realtime/testing';
import { RedisPresenceStore, type PresenceStore } from '../src/index.js';
import { describePresenceStore } from './describe-presence-store.js';

/**
 * The contract suite on every Redis topology the product supports (Redis
 * Cluster joins when presence keys shard): standalone, and a Sentinel set
 * (the store talks to the master the sentinels name).
 */
const topologies: Record<string, () => Promise<() => Redis>> = {
  standalone: async () => {
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    return () => new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  },
  sentinel: async () => {
    const set = await startRedisSentinelSet();
    return () => new Redis({ sentinels: [...set.sentinels], name: set.masterName, lazyConnect: true, maxRetriesPerRequest: 1 });
  },
};

describe.each(Object.keys(topologies))('on %s Redis', (topology) => {
  let newClient: () => Redis;
  beforeAll(async () => {
    newClient = await topologies[topology]!();
  });

  function connect(): Redis {
    const client = newClient();
    onTestFinished(() => {
      client.disconnect();
    });
    return client;
  }

  describePresenceStore(`RedisPresenceStore (${topology})`, async () => {
    const keyPrefix = uniqueKeyPrefix('presence');
    const admin = connect();
    await admin.connect();
    return {
      async store(nodeId, options): Promise<PresenceStore> {
        const client = connect();
        const subscriber = connect();
        await Promise.all([client.connect(), subscriber.connect()]);
        const store = new RedisPresenceStore({ redis: client, subscriber, nodeId, keyPrefix, ...options });
        onTestFinished(() => store.close());
        await store.start();
        await store.restore([]);
        return store;
      },
      async wipe() {
        // Only this suite's keys: the Redis may be shared.
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await admin.del(...keys);
        } while (cursor !== '0');
      },
    };
  });
});
