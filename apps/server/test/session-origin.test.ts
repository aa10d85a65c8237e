import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { registerTeardown } from '@realtime/testing';
import { startTestNode } from './support/start-test-node.js';

/**
 * Issue "trust", section 6: the Origin allowlist is checked on every
 * long-polling request that carries a session id, not only on the
 * handshake (the gap tracked upstream as engine.io#552).
 */

const ALLOWED = 'https://app.example';
const EVIL = 'https://evil.example';

async function handshake(url: string): Promise<string> {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: ALLOWED } });
  expect(response.status).toBe(200);
  return (JSON.parse((await response.text()).slice(1)) as { sid: string }).sid;
}

function poll(url: string, sid: string, origin: string | undefined, body?: string): Promise<Response> {
  return fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(origin === undefined ? {} : { Origin: origin }), 'Content-Type': 'text/plain;charset=UTF-8' },
    ...(body === undefined ? {} : { body }),
  });
}

describe('Origin on every request of a session', () => {
  it('a refused origin that knows a session id gets 403 for its GETs and POSTs, which never reach the session', async () => {
    const { url, node } = await startTestNode({ CORS_ORIGINS: ALLOWED });
    const sid = await handshake(url);
    for (const response of [await poll(url, sid, EVIL, '40'), await poll(url, sid, EVIL)]) {
      expect(response.status).toBe(403);
      const body = (await response.json()) as { code: number; message: string };
      expect(body).toEqual({ code: 4, message: `origin ${EVIL} is not allowed: the operator must add it to CORS_ORIGINS` });
      // The refused page may read its refusal, as on the handshake.
      expect(response.headers.get('access-control-allow-origin')).toBe(EVIL);
    }
    // The mechanism: the refused namespace CONNECT never reached the session.
    expect(node.io.of('/').sockets.size).toBe(0);
    expect(await node.metrics.registry.getSingleMetricAsString('realtime_origin_refusals_total')).toContain(
      'realtime_origin_refusals_total 2',
    );
    // The session is untouched: its own page connects the namespace and reads the answer.
    expect((await poll(url, sid, ALLOWED, '40')).status).toBe(200);
    const answer = await poll(url, sid, ALLOWED);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toMatch(/^40\{"sid":/);
    expect(node.io.of('/').sockets.size).toBe(1);
  });

  it('requests without Origin (non-browser clients) and same-origin requests still reach the session', async () => {
    const { url, node } = await startTestNode({ CORS_ORIGINS: ALLOWED });
    const sid = await handshake(url);
    expect((await poll(url, sid, undefined, '40')).status).toBe(200);
    expect(await (await poll(url, sid, url)).text()).toMatch(/^40\{"sid":/);
    expect(node.io.of('/').sockets.size).toBe(1);
  });

  it('a WebSocket upgrade of a session from a refused origin is refused', async () => {
    const { url } = await startTestNode({ CORS_ORIGINS: ALLOWED });
    const sid = await handshake(url);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`, { headers: { Origin: EVIL } });
    registerTeardown(() => ws.terminate());
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the upgrade was accepted')));
      ws.once('error', () => {});
    });
    expect(status).toBe(400);
  });

  it('with CORS_ORIGINS=* nothing is refused', async () => {
    const { url } = await startTestNode({ CORS_ORIGINS: '*' });
    const sid = await handshake(url);
    expect((await poll(url, sid, EVIL, '40')).status).toBe(200);
  });
});
