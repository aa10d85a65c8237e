import { beforeAll, describe, onTestFinished } from 'vitest';
import { Cluster } from 'ioredis';
import { uniqueKeyPrefix } from '@realtime/testing';
import { RedisPresenceStore, type PresenceStore } from '../src/index.js';
import { REDIS_TOPOLOGIES, type TopologyClient } from './redis-topologies.js';
import { describePresenceStore } from './describe-presence-store.js';

/**
 * The contract suite on every Redis topology the product supports:
 * standalone, a Sentinel set (the store talks to the master the sentinels
 * name), and a Redis Cluster of 3 masters + 3 replicas (Cluster clients;
 * the subscriber with one sharded subscriber per master, as the server's).
 */
describe.each(Object.keys(REDIS_TOPOLOGIES) as (keyof typeof REDIS_TOPOLOGIES)[])('on %s Redis', (topology) => {
  let newClient: (role: 'commands' | 'subscriber') => TopologyClient;
  beforeAll(async () => {
    const running = await REDIS_TOPOLOGIES[topology]();
    newClient = (role) => running.client(role);
  });

  function connect(role: 'commands' | 'subscriber' = 'commands'): TopologyClient {
    const client = newClient(role);
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
        const subscriber = connect('subscriber');
        await Promise.all([client.connect(), subscriber.connect()]);
        const store = new RedisPresenceStore({ redis: client, subscriber, nodeId, keyPrefix, ...options });
        onTestFinished(() => store.close());
        await store.start();
        await store.restore([]);
        return store;
      },
      async wipe() {
        // Only this suite's keys (the Redis may be shared), on every master.
        const servers = admin instanceof Cluster ? admin.nodes('master') : [admin];
        for (const server of servers) {
          let cursor = '0';
          do {
            const [next, keys] = await server.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
            cursor = next;
            // One by one: in a cluster, one DEL may only name keys of one slot.
            for (const key of keys) await server.del(key);
          } while (cursor !== '0');
        }
      },
    };
  });
});
