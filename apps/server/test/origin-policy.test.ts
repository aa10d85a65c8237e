import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { connectClient } from '@realtime/testing';
import { startTestNode } from './support/start-test-node.js';

/** An Engine.IO v4 long-polling handshake, as socket.io-client's first request. */
async function pollingHandshake(url: string, origin?: string): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, {
    headers: origin === undefined ? {} : { Origin: origin },
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A socket.io-client over WebSocket only, sending `origin` as its Origin header (omitted when undefined). */
function connectWebSocket(url: string, origin?: string) {
  return connectClient(url, {
    transports: ['websocket'],
    ...(origin === undefined ? {} : { extraHeaders: { Origin: origin } }),
  });
}

function expectHandshake(result: { status: number; body: string }): void {
  expect(result.status).toBe(200);
  // Engine.IO "open" packet: 0 followed by the JSON handshake.
  expect(result.body.startsWith('0{')).toBe(true);
  expect(JSON.parse(result.body.slice(1))).toMatchObject({ sid: expect.any(String), upgrades: ['websocket'] });
}

function expectRefusal(result: { status: number; headers: Headers; body: string }, origin: string): void {
  expect(result.status).toBe(403);
  expect(result.headers.get('content-type')).toContain('application/json');
  const body = JSON.parse(result.body) as { code: number; message: string };
  expect(body.message).toContain(origin);
  expect(body.message).toContain('add it to CORS_ORIGINS');
  // Readable by the refused page itself (the body is only the refusal), never with credentials.
  expect(result.headers.get('access-control-allow-origin')).toBe(origin);
  expect(result.headers.get('access-control-allow-credentials')).toBeNull();
}

describe('origin policy with CORS_ORIGINS unset (no cross-origin browser access)', () => {
  it('a polling handshake without Origin succeeds, without CORS headers', async () => {
    const { url } = await startTestNode();
    const result = await pollingHandshake(url);
    expectHandshake(result);
    expect(result.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a polling handshake from another origin gets 403 and a JSON body telling to add it to CORS_ORIGINS', async () => {
    const { url } = await startTestNode();
    expectRefusal(await pollingHandshake(url, 'http://evil.example'), 'http://evil.example');
  });

  it('a same-origin polling handshake (Origin matches the Host) succeeds', async () => {
    const { url, node } = await startTestNode();
    expect(url).toBe(`http://127.0.0.1:${node.port}`);
    expectHandshake(await pollingHandshake(url, url));
  });

  it('an Origin on the same host but another port is cross-origin, and refused', async () => {
    const { url, node } = await startTestNode();
    const otherPort = `http://127.0.0.1:${node.port === 65535 ? 65534 : node.port + 1}`;
    expectRefusal(await pollingHandshake(url, otherPort), otherPort);
  });

  it("an opaque origin ('null') is refused", async () => {
    const { url } = await startTestNode();
    expect((await pollingHandshake(url, 'null')).status).toBe(403);
  });

  it('a WebSocket from another origin fails with connect_error; without Origin, or same-origin, it connects', async () => {
    const { url, node } = await startTestNode();
    await expect(connectWebSocket(url, 'http://evil.example')).rejects.toThrow();
    expect(node.io.of('/').sockets.size).toBe(0);

    const noOrigin = await connectWebSocket(url);
    expect(noOrigin.connected).toBe(true);
    expect(noOrigin.io.engine.transport.name).toBe('websocket');

    const sameOrigin = await connectWebSocket(url, url);
    expect(sameOrigin.connected).toBe(true);
    expect(node.io.of('/').sockets.size).toBe(2);
  });

  it('a refused WebSocket upgrade gets an HTTP error response naming CORS_ORIGINS, not a hang', async () => {
    const { url } = await startTestNode();
    // fetch cannot send an Upgrade request: a raw one with node:http.
    const { status, body } = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = request(`${url}/socket.io/?EIO=4&transport=websocket`, {
        headers: {
          Origin: 'http://evil.example',
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
        },
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new Error('the upgrade was accepted'));
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(body).toContain('http://evil.example');
    expect(body).toContain('add it to CORS_ORIGINS');
  });
});

describe('origin policy with CORS_ORIGINS=https://app.example.com', () => {
  const env = { CORS_ORIGINS: 'https://app.example.com' };

  it('a polling handshake from the listed origin succeeds and carries access-control-allow-origin for it', async () => {
    const { url } = await startTestNode(env);
    const result = await pollingHandshake(url, 'https://app.example.com');
    expectHandshake(result);
    expect(result.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('a polling handshake from an origin not listed is refused', async () => {
    const { url } = await startTestNode(env);
    expectRefusal(await pollingHandshake(url, 'https://other.example.com'), 'https://other.example.com');
    // Exact match only: another scheme or a subdomain is another origin.
    expect((await pollingHandshake(url, 'http://app.example.com')).status).toBe(403);
    expect((await pollingHandshake(url, 'https://x.app.example.com')).status).toBe(403);
  });

  it('requests without Origin and same-origin requests still pass', async () => {
    const { url } = await startTestNode(env);
    expectHandshake(await pollingHandshake(url));
    expectHandshake(await pollingHandshake(url, url));
  });

  it('a CORS preflight from the listed origin is answered with its origin', async () => {
    const { url } = await startTestNode(env);
    const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    await response.arrayBuffer();
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('a WebSocket from the listed origin connects; from another origin it fails with connect_error', async () => {
    const { url, node } = await startTestNode(env);
    const allowed = await connectWebSocket(url, 'https://app.example.com');
    expect(allowed.connected).toBe(true);
    await expect(connectWebSocket(url, 'https://other.example.com')).rejects.toThrow();
    expect(node.io.of('/').sockets.size).toBe(1);
  });

  it('every origin of a list is allowed', async () => {
    const { url } = await startTestNode({ CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' });
    const result = await pollingHandshake(url, 'http://localhost:5173');
    expectHandshake(result);
    expect(result.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect((await connectWebSocket(url, 'http://localhost:5173')).connected).toBe(true);
    expect((await connectWebSocket(url, 'https://app.example.com')).connected).toBe(true);
    await expect(connectWebSocket(url, 'http://localhost:5174')).rejects.toThrow();
  });
});

describe("origin policy with CORS_ORIGINS='*'", () => {
  it('any origin gets a polling handshake with access-control-allow-origin: *', async () => {
    const { url } = await startTestNode({ CORS_ORIGINS: '*' });
    const result = await pollingHandshake(url, 'http://evil.example');
    expectHandshake(result);
    expect(result.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('any origin connects over WebSocket', async () => {
    const { url, node } = await startTestNode({ CORS_ORIGINS: '*' });
    expect((await connectWebSocket(url, 'http://evil.example')).connected).toBe(true);
    expect((await connectWebSocket(url, 'https://anything.example.org:8443')).connected).toBe(true);
    expect((await connectWebSocket(url)).connected).toBe(true);
    expect(node.io.of('/').sockets.size).toBe(3);
  });
});
