import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Cluster } from 'ioredis';
import { keySlot, pollUntil, uniqueKeyPrefix, type RedisCluster } from '@realtime/testing';
import { RedisTopicHistory, historyKeys, parseHistoryMessage } from '../src/index.js';
import { REDIS_TOPOLOGIES, type TopologyClient } from './redis-topologies.js';
import { describeTopicHistory } from './describe-topic-history.js';

/**
 * The contract suite on every Redis topology the product supports:
 * standalone, a Sentinel set, and a Redis Cluster of 3 masters + 3 replicas
 * (the subscriber with one sharded subscriber per master, as the server's).
 */
let cluster: RedisCluster | undefined;

describe.each(Object.keys(REDIS_TOPOLOGIES) as (keyof typeof REDIS_TOPOLOGIES)[])('on %s Redis', (topology) => {
  let newClient: (role: 'commands' | 'subscriber') => TopologyClient;
  beforeAll(async () => {
    const running = await REDIS_TOPOLOGIES[topology]();
    newClient = (role) => running.client(role);
    cluster = running.cluster;
  });

  async function connect(role: 'commands' | 'subscriber' = 'commands'): Promise<TopologyClient> {
    const client = newClient(role);
    onTestFinished(() => {
      client.disconnect();
    });
    await client.connect();
    return client;
  }

  describeTopicHistory(`RedisTopicHistory (${topology})`, async () => {
    const keyPrefix = uniqueKeyPrefix('history');
    const admin = await connect();
    const keys = historyKeys(keyPrefix);
    return {
      keyPrefix,
      async history(options = {}) {
        return new RedisTopicHistory({ redis: await connect(), keyPrefix, ...options });
      },
      async outlive(topic, windowMs) {
        // Redis expires the keys itself; nothing here deletes them.
        const { meta, stream } = keys.topic(topic);
        await pollUntil(`the history of ${topic} expired`, windowMs + 10_000, async () =>
          (await admin.exists(meta, stream)) === 0 ? true : undefined,
        );
      },
      async wipe() {
        // As Redis restarting empty, limited to this suite's keys (the Redis may be shared), on every master.
        const servers = admin instanceof Cluster ? admin.nodes('master') : [admin];
        for (const server of servers) {
          let cursor = '0';
          do {
            const [next, found] = await server.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
            cursor = next;
            // One by one: in a cluster, one DEL may only name keys of one slot.
            for (const key of found) await server.del(key);
          } while (cursor !== '0');
        }
      },
      async listen(channel) {
        const subscriber = await connect('subscriber');
        const seen: string[] = [];
        subscriber.on('smessage', (from: string, message: string) => {
          if (from === channel) seen.push(message);
        });
        await subscriber.ssubscribe(channel);
        return seen;
      },
      async awaitMessages(seen, n) {
        await pollUntil(`${n} messages received`, 10_000, async () => (seen.length >= n ? true : undefined));
      },
    };
  });

  if (topology === 'cluster') {
    it("puts a topic's publish channel on the slot of its keys, and its subscriber receives each message once, in offset order", async () => {
      const keyPrefix = uniqueKeyPrefix('history-slots');
      const keys = historyKeys(keyPrefix);
      const topics = Array.from({ length: 30 }, (_, i) => `c\u001fchannel-${i}`);
      const slots = new Set<number>();
      for (const topic of topics) {
        const { meta, stream, channel } = keys.topic(topic);
        const slot = await cluster!.slotOf(meta);
        expect(await cluster!.slotOf(stream)).toBe(slot);
        expect(await cluster!.slotOf(channel)).toBe(slot);
        expect(keySlot(channel)).toBe(slot);
        slots.add(slot);
      }
      // Topics spread over the cluster's masters.
      const masters = new Set(await Promise.all(topics.map(async (topic) => (await cluster!.masterOf(keys.topic(topic).meta)).port)));
      expect(masters.size).toBe(3);
      expect(slots.size).toBeGreaterThan(25);

      const history = new RedisTopicHistory({ redis: await connect(), keyPrefix });
      const subscriber = await connect('subscriber');
      const seen = new Map<string, string[]>();
      subscriber.on('smessage', (channel: string, message: string) => {
        const list = seen.get(channel) ?? [];
        list.push(message);
        seen.set(channel, list);
      });
      for (const topic of topics) await subscriber.ssubscribe(keys.topic(topic).channel);
      await Promise.all(
        topics.flatMap((topic) =>
          Array.from({ length: 10 }, (_, i) => history.append(topic, `${topic}#${i + 1}`, { channel: keys.topic(topic).channel })),
        ),
      );
      await pollUntil('every message received', 10_000, async () =>
        topics.every((topic) => (seen.get(keys.topic(topic).channel)?.length ?? 0) >= 10) ? true : undefined,
      );
      for (const topic of topics) {
        const messages = (seen.get(keys.topic(topic).channel) ?? []).map((message) => parseHistoryMessage(message));
        expect(messages.map((m) => [m?.position.offset, m?.payload])).toEqual(
          Array.from({ length: 10 }, (_, i) => [i + 1, `${topic}#${i + 1}`]),
        );
      }
    });
  }
});
