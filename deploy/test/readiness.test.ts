import { describe, expect, it, vi } from 'vitest';
import { startRedis, startServerNode, type LocalNode, type LocalRedis } from '@realtime/local-cluster';
import { connectClient, registerTeardown, uniqueKeyPrefix } from '@realtime/testing';

/**
 * What a load balancer or kubelet sees of a node: /healthz (liveness) and
 * /readyz (readiness) through a Redis outage and a SIGTERM drain, and how
 * the drain ends. Nodes are processes (`node apps/server/dist/main.js`)
 * started by the same code as `npm run cluster`; each test owns its Redis.
 */
async function redis(): Promise<LocalRedis> {
  const server = await startRedis();
  registerTeardown(() => server.stop());
  return server;
}

async function node(redisServer: LocalRedis, nodeId: string, env: Record<string, string> = {}): Promise<LocalNode> {
  const started = await startServerNode({
    nodeId,
    redisUrl: redisServer.url,
    env: { LOG_LEVEL: 'info', REDIS_KEY_PREFIX: uniqueKeyPrefix('readyz'), ...env },
  });
  registerTeardown(async () => {
    if (started.running) started.signal('SIGKILL');
    await started.exited;
  });
  return started;
}

async function probe(target: LocalNode, path: '/readyz' | '/healthz'): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`${target.url}${path}`);
  return { status: response.status, body: (await response.json()) as { status: string } };
}

async function waitForProbe(target: LocalNode, path: '/readyz' | '/healthz', status: number, bodyStatus: string): Promise<void> {
  await vi.waitFor(async () => expect(await probe(target, path)).toMatchObject({ status, body: { status: bodyStatus } }), {
    timeout: 15_000,
    interval: 20,
  });
}

describe('/readyz and /healthz', () => {
  it('/readyz is 503 while Redis is down and 200 again when it is back; /healthz stays 200 throughout', async () => {
    const server = await redis();
    const nodes = [await node(server, 'ready-1'), await node(server, 'ready-2')];
    for (const n of nodes) {
      expect(await probe(n, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
      expect(await probe(n, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    }

    await server.kill();
    for (const n of nodes) await waitForProbe(n, '/readyz', 503, 'redis-unavailable');
    // Liveness must not fail on a Redis outage: a kubelet would restart every pod for nothing.
    for (const n of nodes) expect(await probe(n, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });

    await server.start();
    for (const n of nodes) await waitForProbe(n, '/readyz', 200, 'ready');
    for (const n of nodes) expect(n.running).toBe(true);
  });

  it('SIGTERM: /readyz turns 503 first, new connections are refused, live ones are closed, then the node exits 0', async () => {
    const server = await redis();
    const draining = await node(server, 'drain-1', { SHUTDOWN_GRACE_MS: '30000' });
    const client = await connectClient(draining.url, { transports: ['websocket'] });
    const closed = new Promise<string>((resolve) => client.once('disconnect', resolve));

    // A hung Redis holds the drain at its presence cleanup, so the states in between can be observed.
    server.pause();
    registerTeardown(() => server.resume());
    draining.signal('SIGTERM');
    await waitForProbe(draining, '/readyz', 503, 'draining');
    // Refused with a clear HTTP error (not a hang): the client's retry goes to another node.
    const handshake = await fetch(`${draining.url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(403);
    expect(((await handshake.json()) as { message: string }).message).toMatch(/shutting down/);
    // The live connection was closed at the transport: socket.io-client reconnects after this reason.
    expect(await closed).toBe('transport close');
    // Still alive while it drains: liveness must not kill a draining pod.
    expect(await probe(draining, '/healthz')).toMatchObject({ status: 200 });
    expect(draining.running).toBe(true);

    server.resume();
    const exit = await draining.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(draining.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'drained']));
  });

  it('a second SIGTERM exits at once, without waiting for the drain', async () => {
    const server = await redis();
    const draining = await node(server, 'twice-1', { SHUTDOWN_GRACE_MS: '30000' });
    server.pause();
    registerTeardown(() => server.resume());
    draining.signal('SIGTERM');
    await waitForProbe(draining, '/readyz', 503, 'draining');
    const second = Date.now();
    draining.signal('SIGTERM');
    expect(await draining.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - second).toBeLessThan(2_000);
    expect(draining.logs.some((l) => l.msg === 'second signal: exiting without waiting for the drain')).toBe(true);
  });

  it('a drain that outlives SHUTDOWN_GRACE_MS is cut short: the process exits 1 on time', async () => {
    const server = await redis();
    const draining = await node(server, 'grace-1', { SHUTDOWN_GRACE_MS: '1000' });
    server.pause();
    registerTeardown(() => server.resume());
    const sent = Date.now();
    draining.signal('SIGTERM');
    expect(await draining.exited).toEqual({ code: 1, signal: null });
    const took = Date.now() - sent;
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(4_000);
    expect(draining.logs.some((l) => l.msg === 'drain exceeded the grace period: exiting')).toBe(true);
  });
});
