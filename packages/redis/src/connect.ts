import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { createClusterClient } from './cluster-client.js';
import { describeTopology, type RedisTopology } from './topology.js';

/** The part of a pino logger this package uses. */
export interface RedisLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What the connections report, for the caller's metrics. */
export interface RedisConnectionEvents {
  /** A connection reported an error (one per failed attempt). */
  error(connection: string): void;
  /** A connection is reconnecting. */
  reconnecting(connection: string): void;
  /** A publish failed and was dropped (cross-node delivery is at most once). */
  publishDropped(): void;
  /** A pub/sub message arrived on the subscriber connection (classic, pattern or sharded), on `channel`. */
  received(channel: Buffer): void;
}

/**
 * The node's Redis connections:
 * - `commands`: presence scripts. No offline queue: while Redis is down a
 *   call fails at once instead of piling up, so no client waits on it.
 * - `publisher`: the adapter's publishes. No offline queue either, and a
 *   failed publish is counted and dropped (cross-node delivery is at most
 *   once while Redis is down; local delivery goes on).
 * - `subscriber`: the adapter's subscriptions; ioredis resubscribes after
 *   every reconnect.
 * - `shardedSubscriber`: SSUBSCRIBE only (presence count channels). Redis
 *   counts a connection's sharded subscriptions apart from its classic ones,
 *   and ioredis leaves subscriber mode when a SUNSUBSCRIBE reply says 0, so
 *   on a connection that also holds the classic adapter's PSUBSCRIBE the
 *   next message broke it ("Command queue state error", a reconnect, and
 *   the messages meanwhile lost). Its own connection in standalone and
 *   Sentinel mode; in cluster mode the subscriber's per-master sharded
 *   connections already are that.
 */
/** A standalone or Sentinel-managed connection, or a Redis Cluster client (one connection per master). */
export type RedisClient = Redis | Cluster;

export interface RedisConnections {
  commands: RedisClient;
  publisher: RedisClient;
  /** In cluster mode, one subscriber connection per master for sharded subscriptions. */
  subscriber: RedisClient;
  /** Sharded subscriptions only; the same object as `subscriber` in cluster mode. */
  shardedSubscriber: RedisClient;
  close(): Promise<void>;
}

export interface RedisConnectionOptions {
  /** Where Redis is (with credentials: handed to ioredis, never logged). */
  topology: RedisTopology;
  nodeId: string;
  logger: RedisLogger;
  events: RedisConnectionEvents;
  /** How long start-up waits for an unreachable Redis before giving up. */
  connectTimeoutMs: number;
  /**
   * The caller's names for the settings, for error messages that say what
   * to fix (this package reads no environment): where Redis is, its
   * credentials, and the connect timeout.
   */
  settings: { address: string; credentials: string; connectTimeout: string };
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

/** The error, or for a Cluster client that could not load its slot map, the node's own error behind it. */
function isAuthRefusalOrCause(err: Error): Error | undefined {
  if (isAuthRefusal(err)) return err;
  const cause = (err as { lastNodeError?: unknown }).lastNodeError;
  return cause instanceof Error && isAuthRefusal(cause) ? cause : undefined;
}

function waitReady(client: RedisClient, timeoutMs: number, redactedUrl: string, settings: RedisConnectionOptions['settings']): Promise<void> {
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
          `Redis at ${redactedUrl} could not be reached within ${timeoutMs} ms (${settings.connectTimeout}): ` +
            `check that it runs and that ${settings.address} names the right hosts and ports`,
        ),
      );
    }, timeoutMs);
    const onReady = (): void => {
      done();
      resolve();
    };
    const onError = (err: Error): void => {
      const refusal = isAuthRefusalOrCause(err);
      if (refusal === undefined) return; // unreachable: keep retrying until the timeout
      done();
      // Only the reply's first word: ioredis attaches the AUTH command (and its arguments, the password) to the error.
      const reply = /^\S+/.exec(refusal.message)?.[0] ?? 'refused';
      reject(new RedisAuthError(`Redis at ${redactedUrl} refused the credentials (${reply}): check ${settings.credentials}`));
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
}

/** One ioredis client for the topology, with `options` on top (`subscriber`: the one that subscribes). */
function createClient(topology: RedisTopology, options: RedisOptions, subscriber: boolean): RedisClient {
  switch (topology.kind) {
    case 'standalone':
      return new Redis(topology.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: topology.masterName,
        db: topology.db,
        // The data nodes' credentials, and the sentinels' own only when given: sending AUTH to a
        // sentinel without a password is refused, and many sets protect only the data nodes.
        ...(topology.username === undefined ? {} : { username: topology.username }),
        ...(topology.password === undefined ? {} : { password: topology.password }),
        ...(topology.sentinelAuth.username === undefined ? {} : { sentinelUsername: topology.sentinelAuth.username }),
        ...(topology.sentinelAuth.password === undefined ? {} : { sentinelPassword: topology.sentinelAuth.password }),
        ...(topology.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        // No failover detector: a dead master closes every connection anyway, and the detector's
        // own disconnect on +switch-master, arriving after the retry had already reached the new
        // master, dropped the subscriber a second time and lost messages after the nodes had
        // settled (seen in CI). A demoted master answers writes with READONLY: reconnect then,
        // which asks the sentinels for the new one. (ioredis may also give a connection up during
        // a failover: see the 'end' handler.)
        failoverDetector: false,
        reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
      });
    case 'cluster': {
      const { enableOfflineQueue, enableAutoPipelining, ...perNode } = options;
      return createClusterClient({
        nodes: topology.nodes,
        auth: topology,
        redisOptions: perNode,
        clusterOptions: {
          ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
          ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
        },
        shardedSubscribers: subscriber,
      });
    }
  }
}

export async function connectRedis(options: RedisConnectionOptions): Promise<RedisConnections> {
  const { topology, nodeId, logger, events } = options;
  const redactedUrl = describeTopology(topology);
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
    commands: createClient(topology, { ...failFast, connectionName: `${nodeId}:commands` }, false),
    publisher: createClient(topology, { ...failFast, connectionName: `${nodeId}:publisher` }, false),
    subscriber: createClient(topology, { ...base, connectionName: `${nodeId}:subscriber` }, true),
    ...(topology.kind === 'cluster'
      ? {}
      : { shardedSubscriber: createClient(topology, { ...base, connectionName: `${nodeId}:sharded-subscriber` }, true) }),
  };
  /** Set by close(): from then on an ended connection stays ended. */
  let closing = false;
  for (const [name, client] of Object.entries(clients)) {
    let healthy = true;
    client.on('error', (err: Error) => {
      events.error(name);
      // One line per outage, not one per reconnection attempt.
      // The error's message and code only: ioredis attaches the failed command with its arguments (AUTH's is the password).
      if (healthy)
        logger.warn(
          { error: { message: err.message, code: (err as { code?: unknown }).code }, connection: name, redis: redactedUrl },
          'Redis connection error; reconnecting',
        );
      healthy = false;
    });
    client.on('reconnecting', () => events.reconnecting(name));
    // ioredis sometimes gives a Sentinel-mode connection up during a failover
    // (status "end", no more retries: seen after a kill -9 of the master, in
    // about 1 failover in 5 under load). A node must outlive that as it
    // outlives any outage: start it again, backing off like retryStrategy.
    // ioredis resubscribes from the state it saved when the connection closed.
    let restarts = 0;
    client.on('end', () => {
      if (closing) return;
      restarts += 1;
      logger.warn({ connection: name, redis: redactedUrl, restarts }, 'Redis connection given up by the client library; starting it again');
      setTimeout(
        () => {
          if (closing || client.status !== 'end') return;
          client.connect().catch(() => undefined);
        },
        Math.min(restarts * 100, 1000),
      ).unref();
    });
    client.on('ready', () => (restarts = 0));
    client.on('ready', () => {
      if (!healthy) logger.info({ connection: name }, 'Redis connection ready again');
      healthy = true;
    });
  }

  // The publish guard. The adapters call publish() / spublish() without
  // handling the promise (classic), or await it before local delivery
  // (sharded): a rejection would be unhandled and crash the node, or stall
  // local members. Failures are counted and dropped: cross-node delivery is
  // at most once while Redis is down. These are our own client objects;
  // nothing of the library is patched.
  type Publish = (channel: string | Buffer, message: string | Buffer) => Promise<number>;
  const guarded = clients.publisher as unknown as { publish: Publish; spublish: Publish };
  for (const method of ['publish', 'spublish'] as const) {
    const original: Publish = guarded[method].bind(clients.publisher);
    guarded[method] = (channel, message) =>
      original(channel, message).catch(() => {
        events.publishDropped();
        return 0;
      });
  }

  // Inbound pub/sub, counted at the connection we own. The Buffer events
  // only: listening to the string ones would make ioredis decode every message.
  clients.subscriber.on('messageBuffer', (channel: Buffer) => events.received(channel));
  clients.subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => events.received(channel));
  clients.subscriber.on('smessageBuffer', (channel: Buffer) => events.received(channel));
  clients.shardedSubscriber?.on('smessageBuffer', (channel: Buffer) => events.received(channel));

  const all = Object.values(clients);
  for (const client of all) client.connect().catch(() => undefined);
  try {
    await Promise.all(all.map((client) => waitReady(client, options.connectTimeoutMs, redactedUrl, options.settings)));
  } catch (err) {
    closing = true;
    for (const client of all) client.disconnect();
    throw err;
  }
  return {
    ...clients,
    shardedSubscriber: clients.shardedSubscriber ?? clients.subscriber,
    async close() {
      closing = true;
      await Promise.allSettled(all.map((client) => (client.status === 'ready' ? client.quit() : Promise.resolve(client.disconnect()))));
    },
  };
}
