import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { adapterChannelPrefix, clusterAdapter } from './cluster-adapter.js';
import { ALWAYS_SUBSCRIBED, roomSubscriptions } from './room-subscriptions.js';
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStore } from '@realtime/presence';
import type { Config } from './config.js';
import { registerHealthRoutes, registerMetricsRoute } from './http-routes.js';
import { brokerMessageCounter } from './broker-message-counter.js';
import { createMetrics, type Metrics } from './metrics.js';
import { instrumentNode } from './metrics-collector.js';
import { NodePresence } from './node-presence.js';
import { OriginRefusalReporter, corsOptions, isOriginAllowed, originRefusal, refusalReadableByRefusedOrigin } from './origin-policy.js';
import { connectRedis, type RedisConnections } from '@realtime/redis';
import { registerSocketHandlers } from './socket-handlers.js';
import { createAuthorizer } from './auth/create-authorizer.js';
import { socketIoPlugin } from './socket-io-plugin.js';
import { closeWithShutdown } from './drain-connections.js';
import { trustedProxies } from './client-address.js';
import { handshakeRateLimit } from './handshake-rate-limit.js';
import { memoryHandshakeLimiter, redisHandshakeLimiter } from './handshake-limiter.js';
import { originCheckedOnSessionRequests } from './session-origin.js';
import { memoryConnectionSlots, type ConnectionSlots } from './connection-slots.js';
import { redisConnectionSlots } from './redis-connection-slots.js';
import { ThrottledWarning } from './throttled-warning.js';
import { watchSlowConsumers } from './slow-consumers.js';
import { recoverSubscriptions } from './subscription-recovery.js';
import { DEFAULT_VALIDATION_LIMITS, type ValidationLimits } from '@realtime/protocol';
import { registerApi } from './http-api/api-plugin.js';
import { findBrowserBundle, registerDemoRoutes } from './demo/demo-routes.js';
import { apiPublisher, type PublishItem, type PublishResult } from './http-api/api-publisher.js';
import { memoryIdempotency, redisIdempotency } from './http-api/idempotency.js';
import { memoryApiRateLimiter, redisApiRateLimiter } from './http-api/api-rate-limit.js';
import type { RealtimeServer } from './socket-types.js';
import { createRevocationList } from './auth/create-revocation-list.js';
import { connectionRevoker, type ConnectionRevoker } from './connection-revoker.js';
import { UserConnections } from './user-connections.js';
import { adapterBroadcaster } from './recovery/topic-broadcaster.js';
import { createTopicDelivery } from './recovery/topic-delivery.js';
import { withSessionHooks, type SessionHooks } from './recovery/session-adapter.js';
import { sessionRecovery, type SessionRecovery } from './recovery/session-recovery.js';
import { KilledRuns } from './recovery/run-journal.js';
import { memorySessionStore, redisSessionStore } from './recovery/session-store.js';

/** The window of HANDSHAKE_RATE_PER_IP. */
const HANDSHAKE_WINDOW_MS = 10_000;

export interface RealtimeNode {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly io: RealtimeServer;
  readonly presence: NodePresence;
  readonly metrics: Metrics;
  /** The port actually bound (PORT=0 picks a free one). */
  readonly port: number;
  /** The port serving `/metrics`: `port` unless METRICS_PORT is set. */
  readonly metricsPort: number;
  /**
   * Drains: refuses new connections, closes live ones (clients reconnect
   * elsewhere), removes this node's presence at once, closes Redis. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * MAX_CONNECTIONS_PER_USER's slots: leases in Redis renewed every heartbeat
 * and living NODE_TTL_MS (a dead node's slots free when it counts as dead),
 * the node's own count without Redis; undefined when the limit is off.
 */
function createConnectionSlots(
  config: Config,
  redis: RedisConnections | undefined,
  metrics: Metrics,
  logger: Logger,
): ConnectionSlots | undefined {
  const limit = config.maxConnectionsPerUser;
  if (limit === 0) return undefined;
  if (config.auth.mode === 'off') logger.warn('MAX_CONNECTIONS_PER_USER has no effect with AUTH_MODE=off: every connection is anonymous');
  if (redis === undefined) return memoryConnectionSlots(limit);
  const fallbackWarning = new ThrottledWarning((occurrences, err) =>
    logger.warn(
      { err, occurrences, event: 'connection-limit-fallback' },
      'MAX_CONNECTIONS_PER_USER decided on this node’s own count: Redis failed or did not answer in time',
    ),
  );
  const redisWarning = new ThrottledWarning((occurrences, err) =>
    logger.warn(
      { err, occurrences, event: 'connection-limit-redis-error' },
      'MAX_CONNECTIONS_PER_USER could not renew or release a lease in Redis',
    ),
  );
  return redisConnectionSlots({
    redis: redis.commands,
    keyPrefix: config.redisKeyPrefix,
    nodeId: config.nodeId,
    limit,
    leaseMs: config.nodeTtlMs,
    renewIntervalMs: config.heartbeatIntervalMs,
    onFallback: (err) => {
      metrics.connectionLimitFallbacks.inc();
      fallbackWarning.occurred(err);
    },
    onRedisError: (operation, err) => {
      metrics.connectionLimitRedisErrors.inc({ operation });
      redisWarning.occurred(err);
    },
  });
}

/** Builds and starts one node: in memory without REDIS_URL, a cluster member with it. */
export async function startNode(config: Config, logger: Logger): Promise<RealtimeNode> {
  const metrics = createMetrics();
  let draining = false;
  /** False while the Redis subscriber is reconnecting and until our subscriptions are confirmed again. */
  let subscriptionsConfirmed = false;

  let redis: RedisConnections | undefined;
  /**
   * This process's id among every process that runs under NODE_ID: the
   * presence store's incarnation and the prefix of every offset token, so a
   * survivor can tell a killed process from its successor under the same id.
   */
  const runId = randomBytes(6).toString('base64url');
  let store: PresenceStore;
  let redisStore: RedisPresenceStore | undefined;
  const brokerKinds = brokerMessageCounter(config.redisKeyPrefix, metrics);
  if (config.redis !== undefined) {
    redis = await connectRedis({
      topology: config.redis,
      nodeId: config.nodeId,
      logger,
      events: {
        error: (connection) => metrics.redisErrors.inc({ connection }),
        reconnecting: (connection) => metrics.redisReconnects.inc({ connection }),
        publishDropped: () => metrics.publishErrors.inc(),
        received: (channel) => brokerKinds.count(channel),
      },
      connectTimeoutMs: config.redisConnectTimeoutMs,
      settings:
        config.redis.kind === 'standalone'
          ? { address: 'REDIS_URL', credentials: 'the user name and password in REDIS_URL', connectTimeout: 'REDIS_CONNECT_TIMEOUT_MS' }
          : {
              address: config.redis.kind === 'sentinel' ? 'REDIS_SENTINELS and REDIS_SENTINEL_MASTER' : 'REDIS_CLUSTER_NODES',
              credentials: 'REDIS_USERNAME and REDIS_PASSWORD',
              connectTimeout: 'REDIS_CONNECT_TIMEOUT_MS',
            },
    });
    redisStore = new RedisPresenceStore({
      redis: redis.commands,
      subscriber: redis.shardedSubscriber,
      nodeId: config.nodeId,
      keyPrefix: config.redisKeyPrefix,
      nodeTtlMs: config.nodeTtlMs,
      memberGraceMs: config.presenceGraceMs,
      incarnation: runId,
    });
    store = redisStore;
  } else {
    store = new MemoryPresenceStore({
      nodeId: config.nodeId,
      nodeTtlMs: config.nodeTtlMs,
      memberGraceMs: config.presenceGraceMs,
      incarnation: runId,
    });
  }

  const revocations = createRevocationList({
    redis: redis?.commands,
    keyPrefix: config.redisKeyPrefix,
    maxTokenLifetimeS: config.auth.maxTokenLifetimeS,
    metrics,
    logger,
  });

  const app = Fastify({
    // Ids of up to 256 code points, URL-encoded (up to 12 characters each), fit in a path parameter.
    routerOptions: { maxParamLength: 4096 },
    // A request body is what it says: `message: 42` is refused, never turned into "42", and an unknown field is refused, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // The cast picks Fastify's logger type for the instance (pino's Logger would leak into every route type).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request lines would be one per long-polling request: noise, not signal.
    logController: new LogController({ disableRequestLogging: true }),
    // Partial requests cannot hold sockets: the whole request (headers and
    // body) within requestTimeout, checked every connectionsCheckingInterval,
    // and no HTTP connection silent past the idle timeout. WebSockets are
    // exempt (ws clears the socket timeout on upgrade; Engine.IO pings them).
    // Node reads requestTimeout and the checking interval only when the
    // server is constructed, so the server is made here, not by Fastify.
    serverFactory: (handler) => {
      const server = createHttpServer(
        {
          requestTimeout: config.httpRequestTimeoutMs,
          headersTimeout: Math.min(config.httpRequestTimeoutMs, 60_000),
          connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(config.httpRequestTimeoutMs / 2))),
          keepAliveTimeout: config.httpIdleTimeoutMs,
        },
        handler,
      );
      server.setTimeout(config.httpIdleTimeoutMs);
      return server;
    },
  });
  const originRefusals = new OriginRefusalReporter({
    count: () => metrics.originRefusals.inc(),
    log: (origin, refusals) =>
      logger.warn({ origin, refusals }, `refused connections from origin ${origin}: add it to CORS_ORIGINS if it should connect`),
  });
  // Connection state recovery: Socket.IO's own protocol (session id and offset token), answered by our hooks once built.
  let sessionHooks: SessionHooks | undefined;
  const recoveryOn = config.recoveryWindowMs > 0;
  const adapter = redis === undefined ? undefined : clusterAdapter(config, redis);
  await app.register(socketIoPlugin, {
    serverOptions: {
      ...(recoveryOn
        ? {
            adapter: withSessionHooks(adapter, () => sessionHooks),
            // Middlewares run for a recovered connection too: authentication decides who takes a session over.
            connectionStateRecovery: { maxDisconnectionDuration: config.recoveryWindowMs, skipMiddlewares: false },
          }
        : adapter === undefined
          ? {}
          : { adapter }),
      cors: corsOptions(config.corsOrigins),
      allowRequest: (req, callback) => {
        if (draining) return callback('this node is shutting down: reconnect to another node', false);
        if (!isOriginAllowed(config.corsOrigins, req)) {
          originRefusals.refused(req.headers.origin);
          return callback(originRefusal(req), false);
        }
        callback(null, true);
      },
      maxHttpBufferSize: config.maxHttpBufferSizeBytes,
      // An Engine.IO session that never connects the namespace is closed after this.
      connectTimeout: config.connectTimeoutMs,
      pingInterval: config.pingIntervalMs,
      pingTimeout: config.pingTimeoutMs,
      serveClient: false,
      transports: ['polling', 'websocket'],
    },
  });
  let presenceRef: NodePresence | undefined = undefined;
  registerHealthRoutes(app, {
    draining: () => draining,
    redisStatus: () =>
      redis === undefined
        ? undefined
        : {
            commands: redis.commands.status,
            publisher: redis.publisher.status,
            subscriber: redis.subscriber.status,
            shardedSubscriber: redis.shardedSubscriber.status,
            subscriptions: subscriptionsConfirmed ? 'ready' : 'pending',
          },
    // Routes are served only after start-up, when presence exists.
    storeResponsive: () => presenceRef?.storeResponsive() ?? false,
  });
  if (config.demoPage) {
    const bundle = findBrowserBundle();
    if (bundle === undefined) logger.warn('DEMO_PAGE is on but the SDK bundle is not built: /demo says how to build it (npm run build)');
    registerDemoRoutes(app, bundle);
  }
  // Without METRICS_PORT, /metrics shares the public port; with it, only the metrics listener has it.
  if (config.metricsPort === undefined) registerMetricsRoute(app, metrics);
  const limits: ValidationLimits = { ...DEFAULT_VALIDATION_LIMITS, maxMessageBytes: config.maxMessageBytes };
  let publishRef: ((keyName: string, item: PublishItem) => Promise<PublishResult>) | undefined = undefined;
  let revokerRef: ConnectionRevoker | undefined = undefined;
  await registerApi(app, {
    keys: config.apiKeys,
    maxBodyBytes: config.apiMaxBodyBytes,
    limits,
    // Routes are served only after start-up, when both exist.
    publish: (keyName, item) => publishRef!(keyName, item),
    users: (topic) => presenceRef!.users(topic),
    members: (topic, limit, cursor) => store.members(topic, limit, cursor),
    topics: (prefix, limit, cursor) => store.topics(prefix, limit, cursor),
    disconnect: async (clientId) => (await revokerRef!.revokeConnection(clientId)) > 0,
    disconnectUser: (userId, issuedBeforeS) => revokerRef!.revokeUser(userId, issuedBeforeS),
    rateLimit:
      redis === undefined
        ? memoryApiRateLimiter(config.apiRateLimitPerSecond)
        : redisApiRateLimiter(redis.commands, config.redisKeyPrefix, config.apiRateLimitPerSecond),
    metrics,
  });
  await app.ready();
  // A PING on the adapter's subscriber is answered after its (p)subscribe, sent
  // when the adapter was made: once both resolve, cross-node messages and
  // counts reach this node. (A Cluster client routes PING to any master; its
  // sharded subscriptions confirm nothing there, and its own reconnections are
  // followed by recoverSubscriptions.)
  await Promise.all([redisStore?.start(), redis?.subscriber.ping()]);
  subscriptionsConfirmed = true;

  const io = app.io;
  if (config.handshakeRatePerIp > 0) {
    const local = memoryHandshakeLimiter(config.handshakeRatePerIp, HANDSHAKE_WINDOW_MS);
    const limiter =
      redis === undefined
        ? local
        : redisHandshakeLimiter({
            redis: redis.commands,
            keyPrefix: config.redisKeyPrefix,
            nodeId: config.nodeId,
            limit: config.handshakeRatePerIp,
            windowMs: HANDSHAKE_WINDOW_MS,
            fallback: local,
            onFallback: () => metrics.handshakeLimitFallbacks.inc(),
          });
    // First: a refused handshake costs one lookup and nothing of Engine.IO's.
    io.engine.use(
      handshakeRateLimit({
        limiter,
        trusted: trustedProxies(config.trustedProxies),
        limit: config.handshakeRatePerIp,
        windowMs: HANDSHAKE_WINDOW_MS,
        onRefused: () => metrics.handshakeRefusals.inc(),
      }),
    );
  }
  io.engine.use(refusalReadableByRefusedOrigin(config.corsOrigins));
  io.engine.on('connection', () => metrics.engineSessionsOpened.inc());
  io.engine.use(originCheckedOnSessionRequests(config.corsOrigins, (origin) => originRefusals.refused(origin)));
  instrumentNode(io, metrics);
  // RECOVERY_WINDOW_MS: topic events go through the history (stored and published in one script), else through the adapter.
  const delivery = config.recoveryWindowMs > 0 ? createTopicDelivery(config, io, redis, metrics, logger, runId) : undefined;
  const broadcaster = delivery?.broadcaster ?? adapterBroadcaster(io);
  const presence = new NodePresence({
    io,
    store,
    broadcaster,
    logger,
    metrics,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    presenceAnnounceIntervalMs: config.presenceAnnounceIntervalMs,
    presenceEventsMaxMembers: config.presenceEventsMaxMembers,
    graceMs: config.presenceGraceMs,
    identityOf: (socketId) => io.of('/').sockets.get(socketId)?.data.identity ?? {},
    userIdOf: (socketId) => io.of('/').sockets.get(socketId)?.data.principal.userId,
    joinedAtOf: (socketId, topic) => io.of('/').sockets.get(socketId)?.data.joinedAt.get(topic),
  });
  presenceRef = presence;
  const rooms =
    delivery !== undefined
      ? delivery.rooms
      : redis !== undefined && config.adapterMode === 'sharded'
        ? roomSubscriptions(io, redis.subscriber, adapterChannelPrefix(config))
        : ALWAYS_SUBSCRIBED;
  const connectionSlots = createConnectionSlots(config, redis, metrics, logger);
  let recovery: SessionRecovery | undefined;
  if (delivery !== undefined) {
    recovery = sessionRecovery({
      io,
      log: delivery.log,
      feed: delivery.feed,
      history: delivery.history,
      sessions: redis === undefined ? memorySessionStore() : redisSessionStore(redis.commands, config.redisKeyPrefix),
      presence,
      metrics,
      logger,
      windowMs: config.recoveryWindowMs,
      maxMessagesPerTopic: config.recoveryMaxMessagesPerTopic,
      uncertainMs: config.pingIntervalMs + config.pingTimeoutMs + 2000,
      pendingTimeoutMs: config.connectTimeoutMs,
      journal: delivery.journal,
      killed: redis === undefined ? undefined : new KilledRuns(redis.commands, config.redisKeyPrefix, 60_000),
      // A killed node counts as gone within NODE_TTL_MS of its last heartbeat; the wait ends before the client's connect times out.
      nodeTtlMs: config.nodeTtlMs,
      beforeJoin: (socketId, topics) => delivery.exclude(socketId, topics),
      killedNodeWaitMs: Math.min(config.nodeTtlMs + 2 * config.heartbeatIntervalMs + 1000, Math.max(0, config.connectTimeoutMs - 1000)),
    });
    sessionHooks = recovery;
  }
  registerSocketHandlers({
    io,
    presence,
    rooms,
    broadcaster,
    config,
    metrics,
    logger,
    authorizer: createAuthorizer(config.auth, logger, revocations),
    connectionSlots,
    recovery,
  });
  revokerRef = connectionRevoker({
    io,
    users: UserConnections.track(io),
    revocations,
    metrics,
    logger,
    clustered: redis !== undefined,
    brokerAvailable: () => redis === undefined || redis.publisher.status === 'ready',
  });
  const stopWatchingSlowConsumers = watchSlowConsumers(io, metrics, config.maxBufferedBytes);
  publishRef = apiPublisher({
    broadcaster,
    limits,
    idempotency: redis === undefined ? memoryIdempotency() : redisIdempotency(redis.commands, config.redisKeyPrefix),
    brokerAvailable: () => redis === undefined || redis.publisher.status === 'ready',
    metrics,
  });
  await presence.start();

  if (redis !== undefined && redisStore !== undefined) {
    const resubscribed = redisStore;
    const connections = redis;
    recoverSubscriptions({
      sources: [
        // Our count channels, and (sharded mode) the adapter's room channels, subscribed again at their slots' owners.
        // With recovery on, `rooms` is the history feed: its channels are subscribed again too.
        { subscriber: connections.shardedSubscriber, resubscribe: () => Promise.all([resubscribed.start(), rooms.reconfirm()]) },
        // The adapter's own connection (standalone, Sentinel): a PING answered after ioredis's resubscription.
        ...(connections.subscriber === connections.shardedSubscriber
          ? []
          : [{ subscriber: connections.subscriber, resubscribe: () => connections.subscriber.ping() }]),
      ],
      // Counts re-read; with recovery on, what pub/sub lost meanwhile is delivered from the history.
      reconcile: async () => {
        await Promise.all([presence.reconcile(), delivery?.feed.catchUp()]);
      },
      setConfirmed: (confirmed) => (subscriptionsConfirmed = confirmed),
      attemptTimeoutMs: 2000,
    });
  }

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  let metricsApp: FastifyInstance | undefined;
  let metricsPort = port;
  if (config.metricsPort !== undefined) {
    metricsApp = Fastify({ loggerInstance: app.log, logController: new LogController({ disableRequestLogging: true }) });
    registerMetricsRoute(metricsApp, metrics);
    await metricsApp.listen({ port: config.metricsPort, host: config.host });
    const metricsAddress = metricsApp.server.address();
    metricsPort = typeof metricsAddress === 'object' && metricsAddress !== null ? metricsAddress.port : config.metricsPort;
  }
  logger.info(
    { port, metricsPort, host: config.host, redis: redis !== undefined, event: 'listening' },
    `node listening on ${config.host}:${port}` + (metricsApp === undefined ? '' : `, metrics on ${config.host}:${metricsPort}`),
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      stopWatchingSlowConsumers();
      logger.info('draining: refusing new connections, closing live ones');
      // Closing the transports fires each socket's `disconnecting`: its
      // leave-* events go out and its presence removals are queued. Each
      // client is told SHUTDOWN first; whoever has not closed within the
      // wait (a client that does not read) is closed without it.
      await closeWithShutdown(io, metrics, Math.min(2000, Math.floor(config.shutdownGraceMs / 2)));
      io.engine.close();
      await presence.stop();
      await delivery?.journal?.close();
      connectionSlots?.stop();
      await app.close();
      await metricsApp?.close();
      await redisStore?.close();
      await delivery?.feed.close();
      await redis?.close();
      logger.info('drained');
    })();
    return closing;
  };

  return { config, app, io, presence, metrics, port, metricsPort, close };
}
