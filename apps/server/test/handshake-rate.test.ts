import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { registerTeardown, startRedisProcess, startTestRedis, uniqueKeyPrefix } from '@realtime/testing';
import { startTestNode } from './support/start-test-node.js';

/**
 * Issue "trust", section 6: HANDSHAKE_RATE_PER_IP — at most N Engine.IO
 * handshakes (requests without a session id: polling opens and direct
 * WebSocket upgrades alike) per client address in any 10 s, cluster-wide
 * through Redis with a local fallback, answered 429 with Retry-After before
 * any Engine.IO session is allocated; X-Forwarded-For only from TRUSTED_PROXIES.
 */

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** A polling open (or, with `sid`, a POST into that session) from `localAddress`, over node:http. */
function polling(url: string, options: { localAddress?: string; headers?: Record<string, string>; sid?: string } = {}): Promise<Answer> {
  const path = `/socket.io/?EIO=4&transport=polling${options.sid === undefined ? '' : `&sid=${options.sid}`}`;
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: options.sid === undefined ? 'GET' : 'POST',
        headers: { ...options.headers, 'Content-Type': 'text/plain' },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
      },
    );
    req.once('error', reject);
    req.end(options.sid === undefined ? undefined : '40');
  });
}

function sidOf(answer: Answer): string {
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.body.slice(1)) as { sid: string }).sid;
}

/** A direct WebSocket handshake: resolves with the HTTP status of a refusal, or 101 when it opened. */
function webSocket(url: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  registerTeardown(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const retryAfter = res.headers['retry-after'];
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter });
    });
    ws.once('open', () => resolve({ status: 101, retryAfter: undefined }));
    ws.once('error', (err) => reject(err));
  });
}

function expectRefused(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(answer.retryAfter)).toBeLessThanOrEqual(10);
  expect(JSON.parse(answer.body)).toEqual({ code: 'RATE_LIMITED', message: 'at most 3 connection handshakes per 10 s from one address' });
}

describe('HANDSHAKE_RATE_PER_IP on one node', () => {
  it('the handshake past N in 10 s is 429 with Retry-After, polling and WebSocket alike, and allocates no session', async () => {
    const { url, node } = await startTestNode({ HANDSHAKE_RATE_PER_IP: '3' });
    const sids = [sidOf(await polling(url)), sidOf(await polling(url))];
    expect(await webSocket(url)).toEqual({ status: 101, retryAfter: undefined });
    const sessions = node.io.engine.clientsCount;
    expect(sessions).toBe(3);
    expectRefused(await polling(url));
    const refusedUpgrade = await webSocket(url);
    expect(refusedUpgrade.status).toBe(429);
    expect(Number(refusedUpgrade.retryAfter)).toBeGreaterThanOrEqual(1);
    // The mechanism: nothing was allocated for the refusals.
    expect(node.io.engine.clientsCount).toBe(sessions);
    // Requests of existing sessions are not handshakes: not counted, not refused.
    for (const sid of sids) expect((await polling(url, { sid })).status).toBe(200);
    expect(node.io.of('/').sockets.size).toBe(2);
    expect(await node.metrics.registry.getSingleMetricAsString('realtime_handshake_refusals_total')).toContain(
      'realtime_handshake_refusals_total 2',
    );
  });

  it('counts per client address: another address has its own N', async () => {
    const { url } = await startTestNode({ HANDSHAKE_RATE_PER_IP: '3' });
    for (let i = 0; i < 3; i++) sidOf(await polling(url));
    expectRefused(await polling(url));
    sidOf(await polling(url, { localAddress: '127.0.0.2' }));
  });

  it('X-Forwarded-For is ignored unless the peer is in TRUSTED_PROXIES', async () => {
    const { url } = await startTestNode({ HANDSHAKE_RATE_PER_IP: '3' });
    for (let i = 0; i < 3; i++) sidOf(await polling(url, { headers: { 'X-Forwarded-For': `203.0.113.${i}` } }));
    // Three different forwarded addresses, one peer: the peer's limit.
    expectRefused(await polling(url, { headers: { 'X-Forwarded-For': '203.0.113.99' } }));
  });

  it('with the peer in TRUSTED_PROXIES (a CIDR), the client is the rightmost untrusted X-Forwarded-For hop', async () => {
    const { url } = await startTestNode({ HANDSHAKE_RATE_PER_IP: '3', TRUSTED_PROXIES: '127.0.0.0/8, 10.0.0.5' });
    for (let i = 0; i < 3; i++) sidOf(await polling(url, { headers: { 'X-Forwarded-For': '198.51.100.7' } }));
    expectRefused(await polling(url, { headers: { 'X-Forwarded-For': '198.51.100.7' } }));
    // A client cannot escape by prepending addresses: the proxy appended its real one last.
    expectRefused(await polling(url, { headers: { 'X-Forwarded-For': '1.2.3.4, 198.51.100.7' } }));
    // Through a second trusted proxy (10.0.0.5), still the same client.
    expectRefused(await polling(url, { headers: { 'X-Forwarded-For': '198.51.100.7, 10.0.0.5' } }));
    // Another client behind the same proxy has its own limit.
    sidOf(await polling(url, { headers: { 'X-Forwarded-For': '198.51.100.8' } }));
  });

  it('HANDSHAKE_RATE_PER_IP=0 (the default): no limit', async () => {
    const { url } = await startTestNode();
    for (let i = 0; i < 30; i++) sidOf(await polling(url));
  });
});

describe('HANDSHAKE_RATE_PER_IP across a cluster', () => {
  it('is one limit for the cluster: handshakes on two nodes add up in Redis', async () => {
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniqueKeyPrefix('handshakes'), HANDSHAKE_RATE_PER_IP: '3' };
    const [a, b] = [await startTestNode(env), await startTestNode(env)];
    sidOf(await polling(a.url));
    sidOf(await polling(b.url));
    sidOf(await polling(a.url));
    expectRefused(await polling(b.url));
    expectRefused(await polling(a.url));
  });

  it('while Redis is down each node limits on its own count, which saw every handshake before the outage', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const { url, node } = await startTestNode({ REDIS_URL: redis.url, HANDSHAKE_RATE_PER_IP: '3' });
    sidOf(await polling(url));
    sidOf(await polling(url));
    await redis.kill();
    sidOf(await polling(url));
    expectRefused(await polling(url));
    expect(await node.metrics.registry.getSingleMetricAsString('realtime_handshake_limit_fallbacks_total')).toMatch(
      /realtime_handshake_limit_fallbacks_total [1-9]/,
    );
  });
});
