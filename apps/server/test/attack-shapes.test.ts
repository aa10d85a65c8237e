import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  connectRawEngineIo,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  registerTeardown,
  startServerProcess,
  type RawEngineIo,
  type ServerProcess,
} from '@realtime/testing';

/**
 * Issue "trust", section 7: one test per published advisory shape (of
 * socket.io-parser, engine.io, socket.io and ws) against a running node
 * process. Each asserts the node stays up, /healthz answers, a normal
 * client still works, and open file descriptors and RSS come back near
 * their level before the attack within seconds.
 */

let node: ServerProcess;
beforeAll(async () => {
  node = await startServerProcess({ nodeId: 'attack-shapes' });
  // Lazy allocations (the first connection, the first relay) happen before any baseline.
  await expectServes();
});

interface Resources {
  fds: number;
  rssBytes: number;
}

function resources(): Resources {
  const status = readFileSync(`/proc/${node.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return { fds: readdirSync(`/proc/${node.pid}/fd`).length, rssBytes: rssKb * 1024 };
}

/** RSS an attack may leave behind: V8 and the allocator keep some of what they grew. */
const RSS_SLACK_BYTES = 48 * 1024 * 1024;

async function expectServes(): Promise<void> {
  const health = await fetch(`${node.url}/healthz`);
  expect(health.status).toBe(200);
  const client = await connectClient(node.url);
  expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'healthy' }, client))).toMatchObject({ ok: true });
  const echo = nextEvent<RelayedEnvelope>(client, 'healthy');
  await emitWithAck(client, 'healthy', guideEnvelope({ roomChannel: 'healthy', message: 'still here' }, client));
  expect((await echo).data.message).toBe('still here');
  client.disconnect();
}

/** Runs `attack`, then checks the node is up and serving, and its fds and RSS are back near `before` within 10 s. */
async function survives(name: string, attack: () => Promise<void>): Promise<void> {
  const before = resources();
  await attack();
  expect(node.exitedSync()).toBe(false);
  await expectServes();
  const after = await vi.waitFor(
    () => {
      const now = resources();
      expect(now.fds).toBeLessThanOrEqual(before.fds + 2);
      expect(now.rssBytes).toBeLessThanOrEqual(before.rssBytes + RSS_SLACK_BYTES);
      return now;
    },
    { timeout: 10_000, interval: 100 },
  );
  process.stdout.write(
    `${name}: fds ${before.fds} → ${after.fds}, RSS ${(before.rssBytes / 2 ** 20).toFixed(1)} → ${(after.rssBytes / 2 ** 20).toFixed(1)} MiB\n`,
  );
}

async function rawSocket(): Promise<RawEngineIo> {
  const raw = await connectRawEngineIo(node.url);
  raw.send('40');
  await raw.waitForFrame((f) => f.startsWith('40{'));
  return raw;
}

/** Either the server closed the connection, or it is still open and answers a ping-less round trip (an ack). */
async function closedOrAnswering(raw: RawEngineIo, ackId: number): Promise<'closed' | 'answering'> {
  raw.send(`42${ackId}["join-channel",{"data":{"roomChannel":"probe"}}]`);
  return Promise.race([
    raw.closed.then(() => 'closed' as const),
    raw.waitForFrame((f) => f.startsWith(`43${ackId}[`)).then(() => 'answering' as const),
  ]);
}

interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTP request on its own connection; resolves with the answer, or status 0 when the node cut the connection. */
function http(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = request(`${node.url}${path}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', () => resolve({ status: 0, body: '' }));
    req.end(options.body);
  });
}

async function pollingSid(): Promise<string> {
  const answer = await http('/socket.io/?EIO=4&transport=polling');
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.body.slice(1)) as { sid: string }).sid;
}

describe('socket.io-parser shapes', () => {
  it('_placeholder objects with a binary frame (CVE-2023-32695): out-of-range, non-numeric and valid placeholders', async () => {
    await survives('_placeholder + binary', async () => {
      for (const placeholder of [
        '{"_placeholder":true,"num":"__proto__"}',
        '{"_placeholder":true,"num":5}',
        '{"_placeholder":true,"num":-1}',
      ]) {
        const raw = await rawSocket();
        raw.send(`451-["x",${placeholder}]`);
        raw.sendBinary(new Uint8Array([1, 2, 3]));
        await raw.closed;
      }
      // The event name itself a placeholder: not a string, so socket.io-parser refuses the packet.
      const namedByBuffer = await rawSocket();
      namedByBuffer.send('451-[{"_placeholder":true,"num":0},{}]');
      namedByBuffer.sendBinary(new Uint8Array([1]));
      await namedByBuffer.closed;
      // A well-formed one: a channel message whose data is a Buffer is refused like any bad payload.
      const raw = await rawSocket();
      raw.send('451-5["x",{"data":{"_placeholder":true,"num":0}}]');
      raw.sendBinary(new Uint8Array([2]));
      const ack = await raw.waitForFrame((f) => f.startsWith('435['));
      expect(ack).toContain('"ok":false');
      raw.close();
    });
  });

  it('a packet announcing 1,000,000 binary attachments is refused without waiting for them', async () => {
    await survives('1,000,000 attachments', async () => {
      const raw = await rawSocket();
      raw.send('451000000-["x",{"_placeholder":true,"num":0}]');
      await raw.closed;
    });
  });

  it('invalid JSON closes that connection only', async () => {
    await survives('invalid JSON', async () => {
      const bystander = await rawSocket();
      for (const frame of ['42["x",{', '42{"a":1}', '42["x"]]]', '42\u0000']) {
        const raw = await rawSocket();
        raw.send(frame);
        await raw.closed;
      }
      expect(await closedOrAnswering(bystander, 7)).toBe('answering');
      bystander.close();
    });
  });

  it('a client `error` packet and an `error` event (CVE-2024-38355) do not crash the node', async () => {
    await survives('client error packet', async () => {
      const raw = await rawSocket();
      raw.send('42["error","boom"]');
      raw.send('421["error",{"data":{"roomChannel":"x"}}]');
      raw.send('44{"message":"boom"}');
      // Whichever the server does with a CONNECT_ERROR from a client (close it), the node is fine.
      await closedOrAnswering(raw, 8);
      raw.close();
    });
  });

  it('non-string event names are refused INVALID_PAYLOAD or close the connection', async () => {
    await survives('non-string event names', async () => {
      const raw = await rawSocket();
      let id = 100;
      for (const name of ['1', '{"a":1}', '["x"]', 'true', '1.5e308']) raw.send(`42${id++}[${name},{"data":{"roomChannel":"x"}}]`);
      const state = await closedOrAnswering(raw, id);
      if (state === 'answering') {
        const refusals = raw.frames.filter((f) => /^43(10[0-4])\[/.test(f));
        for (const refusal of refusals) expect(refusal).toContain('INVALID_PAYLOAD');
      }
      const others = await rawSocket();
      others.send('42[null,{}]');
      await closedOrAnswering(others, 9);
      raw.close();
      others.close();
    });
  });

  it('deeply nested arrays (100,000 levels in one frame)', async () => {
    await survives('deeply nested arrays', async () => {
      const raw = await rawSocket();
      raw.send(`42["x",${'['.repeat(100_000)}${']'.repeat(100_000)}]`);
      await closedOrAnswering(raw, 10);
      const nestedObjects = await rawSocket();
      nestedObjects.send(`421["join-channel",${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}]`);
      await closedOrAnswering(nestedObjects, 11);
      raw.close();
      nestedObjects.close();
    });
  });
});

describe('Engine.IO shapes', () => {
  it('200 invalid binary polling POSTs (application/octet-stream, CVE-2022-41940)', async () => {
    await survives('200 octet-stream POSTs', async () => {
      const sid = await pollingSid();
      const statuses = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const body = Buffer.from(Array.from({ length: 64 }, (_, j) => (i * 31 + j * 7) % 256));
        const answer = await http(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body,
        });
        statuses.add(answer.status);
      }
      // Each is answered (or its session already closed for it): never a hang, never a crash.
      expect([...statuses].every((s) => s === 200 || s === 400 || s === 0)).toBe(true);
    });
  });

  it('malformed session ids are 400', async () => {
    await survives('malformed session ids', async () => {
      for (const sid of ['x', '%00', 'é'.repeat(100), 'a'.repeat(10_000), '../../etc/passwd', '__proto__', 'constructor']) {
        for (const method of ['GET', 'POST']) {
          const answer = await http(`/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, { method, body: '40' });
          expect(answer.status).toBe(400);
        }
      }
      // Two sids are neither: 400. `sid[]` is not `sid`: that request is a plain handshake.
      expect((await http('/socket.io/?EIO=4&transport=polling&sid=a&sid=b')).status).toBe(400);
      for (const query of ['sid[]=1', 'sid[__proto__]=1']) {
        const answer = await http(`/socket.io/?EIO=4&transport=polling&${query}`);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatch(/^0\{"sid":/);
      }
    });
  });

  it('a 50 MB polling POST is cut at MAX_HTTP_BUFFER_SIZE_BYTES, not buffered', async () => {
    await survives('50 MB polling POST', async () => {
      const sid = await pollingSid();
      const answer = await http(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        body: Buffer.alloc(50 * 1024 * 1024, 0x61),
      });
      // 413 when the node answers before cutting, 0 when it destroys the connection first.
      expect([0, 413]).toContain(answer.status);
    });
  });
});

describe('ws shapes', () => {
  it('a WebSocket upgrade with 2,001 headers (CVE-2024-37890) is refused', async () => {
    await survives('upgrade with 2,001 headers', async () => {
      const socket = connectTcp({ host: '127.0.0.1', port: node.port });
      registerTeardown(() => socket.destroy());
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const filler = Array.from({ length: 2001 }, (_, i) => `X-Filler-${i}: v`).join('\r\n');
      // The WebSocket headers last: past Node's 2,000-header limit, they are the ones dropped.
      socket.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n${filler}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      expect(received).not.toMatch(/^HTTP\/1\.1 101/);
    });
  });
});
