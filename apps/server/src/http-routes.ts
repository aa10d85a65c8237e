import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

export interface NodeHealth {
  draining(): boolean;
  /** Undefined when the node runs without Redis. */
  redisStatus(): Record<string, string> | undefined;
}

/**
 * `/healthz`: the process serves (liveness). `/readyz`: it should get
 * traffic: 503 while draining or while any Redis connection is down. It
 * reads connection states, never pings, so one slow reply can't flap it.
 */
export function registerHttpRoutes(app: FastifyInstance, health: NodeHealth, metrics: Metrics): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const redis = health.redisStatus();
    const redisReady = redis === undefined || Object.values(redis).every((status) => status === 'ready');
    const ready = !health.draining() && redisReady;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : health.draining() ? 'draining' : 'redis-unavailable',
      redis: redis ?? 'not configured (single node)',
    });
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
