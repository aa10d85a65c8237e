import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the node looks like right now; read at scrape time (see metrics-collector.ts). */
export interface NodeState {
  connectedSockets(): number;
  /** Channels and rooms with at least one member on this node, and those members' memberships. */
  topics(): { channels: number; rooms: number; channelMemberships: number; roomMemberships: number };
}

/** Kinds of messages sent to clients. */
export type OutboundKind = 'channel' | 'room' | 'presence';

/**
 * The node's Prometheus metrics, one registry per node (tests run several
 * nodes in one process). Names share the `realtime_` prefix, except the
 * default process and Node.js metrics (CPU, memory, GC, event-loop lag),
 * which keep their standard names (`process_*`, `nodejs_*`) so stock
 * Node.js dashboards and alerts work unchanged.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let state: NodeState | undefined;
  /**
   * Messages delivered to this node's clients, by kind. Plain numbers bumped
   * by the adapter instrumentation once per broadcast; exported at scrape.
   */
  const messagesOutTally: Record<OutboundKind, number> = { channel: 0, room: 0, presence: 0 };
  return {
    registry,
    /** Binds the scrape-time gauges to the live node. */
    bindNodeState(source: NodeState): void {
      state = source;
    },
    messagesOutTally,
    connectedSockets: new Gauge({
      name: 'realtime_connected_sockets',
      help: 'Socket.IO connections on this node',
      registers: [registry],
      collect() {
        if (state !== undefined) this.set(state.connectedSockets());
      },
    }),
    channels: new Gauge({
      name: 'realtime_channels',
      help: 'Channels with at least one member on this node',
      registers: [registry],
      collect() {
        if (state !== undefined) this.set(state.topics().channels);
      },
    }),
    rooms: new Gauge({
      name: 'realtime_rooms',
      help: 'Rooms with at least one member on this node',
      registers: [registry],
      collect() {
        if (state !== undefined) this.set(state.topics().rooms);
      },
    }),
    memberships: new Gauge({
      name: 'realtime_memberships',
      help: "Channel and room memberships of this node's connections",
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        if (state === undefined) return;
        const topics = state.topics();
        this.set({ kind: 'channel' }, topics.channelMemberships);
        this.set({ kind: 'room' }, topics.roomMemberships);
      },
    }),
    messagesOut: new Counter({
      name: 'realtime_messages_out_total',
      help: "Messages delivered to this node's clients: channel messages, notify-room, and presence events (joins, leaves, counts)",
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, value] of Object.entries(messagesOutTally)) this.inc({ kind }, value);
      },
    }),
    joins: new Counter({ name: 'realtime_joins_total', help: 'Successful joins', labelNames: ['kind'] as const, registers: [registry] }),
    leaves: new Counter({
      name: 'realtime_leaves_total',
      help: 'Leaves, explicit or by disconnect',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    messagesIn: new Counter({
      name: 'realtime_messages_in_total',
      help: 'Messages accepted for relaying',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    refusedEvents: new Counter({
      name: 'realtime_refused_events_total',
      help: 'Client events refused, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    presenceAnnouncements: new Counter({
      name: 'realtime_presence_announcements_total',
      help: 'online-users / room-online-users emissions to local members',
      registers: [registry],
    }),
    presenceErrors: new Counter({
      name: 'realtime_presence_errors_total',
      help: 'Presence store calls that failed (Redis unreachable or erroring)',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    presenceResyncs: new Counter({
      name: 'realtime_presence_resyncs_total',
      help: 'Times this node rewrote its memberships into the store',
      registers: [registry],
    }),
    reapedMemberships: new Counter({
      name: 'realtime_reaped_memberships_total',
      help: 'Memberships of dead nodes removed by this node',
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: 'realtime_redis_errors_total',
      help: 'Errors reported by Redis connections',
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
    redisReconnects: new Counter({
      name: 'realtime_redis_reconnects_total',
      help: 'Redis reconnection attempts',
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
    eventHandlingSeconds: new Histogram({
      name: 'realtime_event_handling_seconds',
      help: 'Server-side handling time of accepted client events, from receipt to acknowledgement (join and leave include the presence write)',
      labelNames: ['event'] as const,
      // 0.5 ms … 5 s: a relay takes well under a millisecond, a join one Redis round trip.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    connectionsOpened: new Counter({
      name: 'realtime_connections_opened_total',
      help: 'Socket.IO connections accepted',
      registers: [registry],
    }),
    connectionsClosed: new Counter({
      name: 'realtime_connections_closed_total',
      help: 'Socket.IO connections closed, by Socket.IO disconnect reason (transport close, ping timeout, client namespace disconnect, server shutting down, …)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    authRefusals: new Counter({
      name: 'realtime_auth_refusals_total',
      help: 'Socket.IO handshakes refused by authentication (AUTH_MODE), by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    authRefreshes: new Counter({
      name: 'realtime_auth_refreshes_total',
      help: 'auth-refresh requests, by outcome: ok, or the refusal code (AUTH_INVALID, AUTH_EXPIRED, REVOKED, FORBIDDEN, INVALID_PAYLOAD, PAYLOAD_TOO_LARGE)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    authExpiryTimers: new Gauge({
      name: 'realtime_auth_expiry_timers',
      help: 'Connections on this node with a token expiry scheduled (one timer each; zero once they are all gone)',
      registers: [registry],
    }),
    revocationReadFailures: new Counter({
      name: 'realtime_revocation_read_failures_total',
      help: 'Token revocation checks that could not read Redis and used what this node remembers (failing open)',
      registers: [registry],
    }),
    engineSessionsOpened: new Counter({
      name: 'realtime_engine_sessions_opened_total',
      help: 'Engine.IO sessions opened (handshakes without a session id that were accepted)',
      registers: [registry],
    }),
    serverCloses: new Counter({
      name: 'realtime_server_closes_total',
      help: 'Connections the server closed after telling the client why (server-close), by code: RATE_LIMITED, SLOW_CONSUMER, SHUTDOWN, …',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    handshakeRefusals: new Counter({
      name: 'realtime_handshake_refusals_total',
      help: 'Engine.IO handshakes refused 429 by HANDSHAKE_RATE_PER_IP',
      registers: [registry],
    }),
    handshakeLimitFallbacks: new Counter({
      name: 'realtime_handshake_limit_fallbacks_total',
      help: 'HANDSHAKE_RATE_PER_IP decisions the node made alone because Redis failed or was slow',
      registers: [registry],
    }),
    connectionLimitFallbacks: new Counter({
      name: 'realtime_connection_limit_fallbacks_total',
      help: 'MAX_CONNECTIONS_PER_USER decisions the node made on its own count because Redis failed or was slow',
      registers: [registry],
    }),
    connectionLimitRedisErrors: new Counter({
      name: 'realtime_connection_limit_redis_errors_total',
      help: 'MAX_CONNECTIONS_PER_USER lease renewals and releases that failed in Redis (the lease then expires within NODE_TTL_MS), by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    originRefusals: new Counter({
      name: 'realtime_origin_refusals_total',
      help: 'Engine.IO handshakes refused because their Origin is not in CORS_ORIGINS',
      registers: [registry],
    }),
    brokerMessagesReceived: new Counter({
      name: 'realtime_broker_messages_received_total',
      help: 'Cross-node messages this node received from Redis pub/sub, by kind: broadcast (the Socket.IO adapter), history (topic events stored for recovery) or presence (count announcements)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    publishErrors: new Counter({
      name: 'realtime_publish_errors_total',
      help: 'Cross-node publishes dropped because Redis was unreachable',
      registers: [registry],
    }),
    historyAppends: new Counter({
      name: 'realtime_history_appends_total',
      help: 'Topic events appended to the recovery history (RECOVERY_WINDOW_MS), by result: stored, or failed (Redis could not take it; delivered to this node only, or for the API not at all)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    historyDeliveryAnomalies: new Counter({
      name: 'realtime_history_delivery_anomalies_total',
      help: 'History messages this node received out of line, by kind: duplicate (dropped), gap (offsets pub/sub lost, counted per message missed), malformed (dropped)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    journalWriteFailures: new Counter({
      name: 'realtime_run_journal_write_failures_total',
      help: 'Writes of this run’s journal (live sessions and delivery log, for recovering its connections if the node is killed) that failed: a node killed right after one leaves connections that start empty',
      registers: [registry],
    }),
    presenceGraceEnds: new Counter({
      name: 'realtime_presence_grace_ends_total',
      help: 'Connections lost abruptly and kept as members for PRESENCE_GRACE_MS, by how their grace ended: recovered (back on this node, or taken over by the node it came back to), left (not back in time: leave-* announced), released (its session was refused or lost: leave-* announced at once)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    recoveries: new Counter({
      name: 'realtime_recoveries_total',
      help: 'Connection state recovery, by outcome: saved (a lost connection’s session), save_failed, recovered, unknown (no such session, or the window passed), refused_position / refused_history (what it missed could not all be given: it started empty), refused_user, failed (Redis), abandoned (fetched, never connected)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'realtime_api_requests_total',
      help: 'HTTP API requests, by API key name (none: no valid key), route and status',
      labelNames: ['key', 'route', 'status'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
