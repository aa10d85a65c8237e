import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

export interface NodeHealth {
  draining(): boolean;
  /** Undefined when the node runs without Redis. */
  redisStatus(): Record<string, string> | undefined;
  /**
   * Whether the presence store answered the heartbeat recently. A hung
   * Redis keeps its connections "ready" while answering nothing; the
   * heartbeat's own round trip is the ping, so probes cost Redis nothing.
   */
  storeResponsive(): boolean;
}

/**
 * `/healthz`: the process serves (liveness). `/readyz`: it should get
 * traffic: 503 while draining, while any Redis connection is down, or while
 * the presence heartbeat has gone unanswered for more than two intervals.
 */
export function registerHealthRoutes(app: FastifyInstance, health: NodeHealth): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const redis = health.redisStatus();
    const connected = redis === undefined || Object.values(redis).every((status) => status === 'ready');
    const responsive = health.storeResponsive();
    const ready = !health.draining() && connected && responsive;
    const status = ready ? 'ready' : health.draining() ? 'draining' : connected ? 'redis-not-answering' : 'redis-unavailable';
    return reply.code(ready ? 200 : 503).send({ status, redis: redis ?? 'not configured (single node)' });
  });
}

/** `/metrics`: Prometheus text, on the public port or on METRICS_PORT's own listener. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
