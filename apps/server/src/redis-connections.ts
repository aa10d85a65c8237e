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
  /** The URL with its credentials: handed to ioredis, never logged. */
  url: string;
  /** The same URL with its password replaced: what logs and errors show. */
  redactedUrl: string;
  nodeId: string;
  logger: Logger;
  metrics: Metrics;
  /** How long start-up waits for an unreachable Redis before giving up (REDIS_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
}

/** Redis answered, and refused the credentials: retrying cannot help, so start-up stops at once. */
export class RedisAuthError extends Error {
  override readonly name = 'RedisAuthError';
}

/** Redis did not become ready within the connect timeout (unreachable, or not answering). */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

/** WRONGPASS (bad user or password), NOAUTH (a password is required), and the pre-6 AUTH replies. */
function isAuthRefusal(err: Error): boolean {
  return /^(WRONGPASS|NOAUTH|NOPERM)\b|^ERR (invalid password|AUTH <password> called without any password|Client sent AUTH, but no password is set)/.test(
    err.message,
  );
}

function waitReady(client: Redis, timeoutMs: number, redactedUrl: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new RedisUnreachableError(
          `Redis at ${redactedUrl} could not be reached within ${timeoutMs} ms (REDIS_CONNECT_TIMEOUT_MS): ` +
            'check that it runs and that REDIS_URL names the right host and port, or unset REDIS_URL to run a single node in memory',
        ),
      );
    }, timeoutMs);
    const onReady = (): void => {
      done();
      resolve();
    };
    const onError = (err: Error): void => {
      if (!isAuthRefusal(err)) return; // unreachable: keep retrying until the timeout
      done();
      // Only the reply's first word: ioredis attaches the AUTH command (and its arguments, the password) to the error.
      const reply = /^\S+/.exec(err.message)?.[0] ?? 'refused';
      reject(
        new RedisAuthError(`Redis at ${redactedUrl} refused the credentials (${reply}): check the user name and password in REDIS_URL`),
      );
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
}

export async function connectRedis(options: RedisConnectionOptions): Promise<RedisConnections> {
  const { url, redactedUrl, nodeId, logger, metrics } = options;
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
      // The error's message and code only: ioredis attaches the failed command with its arguments (AUTH's is the password).
      if (healthy)
        logger.warn(
          { error: { message: err.message, code: (err as { code?: unknown }).code }, connection: name, redis: redactedUrl },
          'Redis connection error; reconnecting',
        );
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
    await Promise.all(all.map((client) => waitReady(client, options.connectTimeoutMs, redactedUrl)));
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
