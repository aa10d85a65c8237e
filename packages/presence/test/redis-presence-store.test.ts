import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { startTestRedis, uniqueKeyPrefix, type TestRedis } from '@realtime/testing';
import { RedisPresenceStore, type PresenceStore } from '../src/index.js';
import { describePresenceStore } from './describe-presence-store.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis.stop());

function connect(): Redis {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  onTestFinished(() => {
    client.disconnect();
  });
  return client;
}

describePresenceStore('RedisPresenceStore', async () => {
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
