import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * The node's three Redis connections:
 * - `commands`: presence scripts. No offline queue: while Redis is down a
 *   call fails at once instead of piling up, so no client waits on it.
 * - `publisher`: the adapter's publishes. No offline queue either, and a
 *   failed publish is counted and dropped (cross-node delivery is at most
 *   once while Redis is down; local delivery goes on).
 * - `subscriber`: adapter and presence subscriptions; ioredis resubscribes
 *   after every reconnect.
 */
export interface RedisConnections {
  commands: Redis;
  publisher: Redis;
  subscriber: Redis;
  close(): Promise<void>;
}

export interface RedisConnectionOptions {
  url: string;
  nodeId: string;
  logger: Logger;
  metrics: Metrics;
  /** How long start-up waits for Redis before giving up. Default 15 000 ms. */
  connectTimeoutMs?: number;
}

function waitReady(client: Redis, timeoutMs: number, url: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(
        new Error(`Redis at ${url} did not answer within ${timeoutMs} ms: check REDIS_URL, or unset it to run a single node in memory`),
      );
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

export async function connectRedis(options: RedisConnectionOptions): Promise<RedisConnections> {
  const { url, nodeId, logger, metrics } = options;
  const base: RedisOptions = {
    lazyConnect: true,
    // Reconnect forever, backing off to 1 s: a node outlives Redis outages.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  };
  // Auto-pipelining: commands issued in one event-loop tick leave in one
  // write (many publishes or presence scripts per syscall under load).
  const failFast: RedisOptions = {
    ...base,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5000,
    enableAutoPipelining: true,
  };
  const clients = {
    commands: new Redis(url, { ...failFast, connectionName: `${nodeId}:commands` }),
    publisher: new Redis(url, { ...failFast, connectionName: `${nodeId}:publisher` }),
    subscriber: new Redis(url, { ...base, connectionName: `${nodeId}:subscriber` }),
  };
  for (const [name, client] of Object.entries(clients)) {
    let healthy = true;
    client.on('error', (err: Error) => {
      metrics.redisErrors.inc({ connection: name });
      // One line per outage, not one per reconnection attempt.
      if (healthy) logger.warn({ err, connection: name }, 'Redis connection error; reconnecting');
      healthy = false;
    });
    client.on('reconnecting', () => metrics.redisReconnects.inc({ connection: name }));
    client.on('ready', () => {
      if (!healthy) logger.info({ connection: name }, 'Redis connection ready again');
      healthy = true;
    });
  }

  const publish: (channel: string | Buffer, message: string | Buffer) => Promise<number> = clients.publisher.publish.bind(
    clients.publisher,
  );
  // The adapter calls publish() without handling its promise: a rejection
  // there would be unhandled and crash the node. Failures become a metric.
  (clients.publisher as unknown as { publish: typeof publish }).publish = (channel, message) =>
    publish(channel, message).catch(() => {
      metrics.publishErrors.inc();
      return 0;
    });

  const all = Object.values(clients);
  for (const client of all) client.connect().catch(() => undefined);
  try {
    await Promise.all(all.map((client) => waitReady(client, options.connectTimeoutMs ?? 15_000, url)));
  } catch (err) {
    for (const client of all) client.disconnect();
    throw err;
  }
  return {
    ...clients,
    async close() {
      await Promise.allSettled(all.map((client) => (client.status === 'ready' ? client.quit() : Promise.resolve(client.disconnect()))));
    },
  };
}
