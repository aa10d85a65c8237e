import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The node's Prometheus metrics, one registry per node (tests run several
 * nodes in one process). Names share the `realtime_` prefix.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'realtime_' });
  return {
    registry,
    connectedSockets: new Gauge({ name: 'realtime_connected_sockets', help: 'Socket.IO connections on this node', registers: [registry] }),
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
    publishErrors: new Counter({
      name: 'realtime_publish_errors_total',
      help: 'Cross-node publishes dropped because Redis was unreachable',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
