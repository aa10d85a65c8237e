import { connect as connectTcp, type Socket as TcpSocket } from 'node:net';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  connectRawEngineIo,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  registerTeardown,
  startRedisProcess,
  startTestRedis,
  uniqueKeyPrefix,
  type RawEngineIo,
} from '@realtime/testing';
import { startTestNode } from './support/start-test-node.js';
import { channelTopic } from '../src/index.js';

/**
 * Issue 7, item 6: input no well-behaved client sends, over raw Engine.IO
 * frames where a client library would refuse to send it. Each case checks
 * the refusal, that nobody else is affected, and that the node stays
 * healthy.
 */

let redisUrl: string;
beforeAll(async () => {
  const redis = await startTestRedis();
  registerTeardown(() => redis.stop());
  redisUrl = redis.url;
});

function startNode(env: Record<string, string> = {}) {
  return startTestNode({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: uniqueKeyPrefix('hostile'), ...env });
}

/** A raw connection with its namespace socket connected. */
async function rawSocket(url: string, options: Parameters<typeof connectRawEngineIo>[1] = {}): Promise<RawEngineIo> {
  const raw = await connectRawEngineIo(url, options);
  raw.send('40');
  await raw.waitForFrame((f) => f.startsWith('40{'));
  return raw;
}

let nextAckId = 1;
/** Sends `42<id>[event, payload]` with `payloadJson` spliced in as written (it may hold escapes JSON.stringify never makes). */
async function emitRaw(raw: RawEngineIo, event: string, payloadJson: string): Promise<unknown> {
  const id = nextAckId++;
  raw.send(`42${id}[${JSON.stringify(event)},${payloadJson}]`);
  const frame = await raw.waitForFrame((f) => f.startsWith(`43${id}[`));
  return (JSON.parse(frame.slice(`43${id}`.length)) as unknown[])[0];
}

/** The node still serves a normal client end to end. */
async function expectHealthy(url: string): Promise<void> {
  const client = await connectClient(url);
  expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'healthy' }, client))).toMatchObject({ ok: true });
  const echo = nextEvent<RelayedEnvelope>(client, 'healthy');
  await emitWithAck(client, 'healthy', guideEnvelope({ roomChannel: 'healthy', message: 'still here' }, client));
  expect((await echo).data.message).toBe('still here');
}

describe('ids that are not well-formed Unicode', () => {
  it('a lone surrogate in a channel or room id is INVALID_PAYLOAD; U+FFFD, which it would become in Redis, is a different, valid id', async () => {
    const { url, node } = await startNode();
    const raw = await rawSocket(url);
    for (const id of ['a\\ud800', 'a\\udfff', '\\udc00x', 'x\\ud83d']) {
      expect(await emitRaw(raw, 'join-channel', `{"data":{"roomChannel":"${id}"}}`)).toMatchObject({
        ok: false,
        error: { code: 'INVALID_PAYLOAD', message: expect.stringContaining('well-formed Unicode') },
      });
      expect(await emitRaw(raw, 'join-room', `{"data":{"roomChannel":"c","roomId":"${id}"}}`)).toMatchObject({
        ok: false,
        error: { code: 'INVALID_PAYLOAD' },
      });
    }
    // A complete pair is fine, and so is the replacement character itself: each its own channel.
    expect(await emitRaw(raw, 'join-channel', '{"data":{"roomChannel":"a\\ud83d\\ude00"}}')).toEqual({ ok: true, onlineUsers: 1 });
    expect(await emitRaw(raw, 'join-channel', '{"data":{"roomChannel":"a\\ufffd"}}')).toEqual({ ok: true, onlineUsers: 1 });
    // The mechanism: nothing was stored for the refused ids.
    expect(await node.presence.count(channelTopic('a\ufffd'))).toBe(1);
    await expectHealthy(url);
  });

  it('ids are measured in code points, as documented: 256 emoji pass, 257 do not', async () => {
    const { url } = await startNode();
    const client = await connectClient(url);
    const emoji = '😀';
    expect(await emitWithAck(client, 'join-channel', { data: { roomChannel: emoji.repeat(256) } })).toEqual({ ok: true, onlineUsers: 1 });
    expect(await emitWithAck(client, 'join-channel', { data: { roomChannel: emoji.repeat(257) } })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD', message: 'data.roomChannel must be 1-256 characters (code points) long' },
    });
    expect(await emitWithAck(client, 'join-room', { data: { roomChannel: 'c', roomId: 'é'.repeat(256) } })).toMatchObject({ ok: true });
  });
});

describe('source: key length and the whole identity are bounded', () => {
  it('a long source key, or a source over 4096 bytes, is refused and never relayed', async () => {
    const { url } = await startNode();
    const sender = await connectClient(url);
    const watcher = await connectClient(url);
    for (const s of [sender, watcher]) await emitWithAck(s, 'join-channel', { data: { roomChannel: 'src' } });
    const longKey = { data: { roomChannel: 'src', message: 'x' }, source: { ['k'.repeat(65)]: 'v' } };
    expect(await emitWithAck(sender, 'src', longKey)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD', message: 'source keys must be 1-64 characters (code points) long' },
    });
    const heavy = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`key${i}`, 'v'.repeat(1024)]));
    expect(await emitWithAck(sender, 'src', { data: { roomChannel: 'src', message: 'x' }, source: heavy })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD', message: expect.stringContaining('source must be at most 4096 bytes') },
    });
    // The largest allowed source relays a 1-byte message as an envelope of a few KB, not hundreds.
    const allowed = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`.padEnd(64, 'k'), 'v'.repeat(1024 - 64)]));
    const relayed = nextEvent<RelayedEnvelope>(watcher, 'src');
    expect(await emitWithAck(sender, 'src', { data: { roomChannel: 'src', message: 'x' }, source: allowed })).toEqual({ ok: true });
    const envelope = await relayed;
    expect(Buffer.byteLength(JSON.stringify(envelope))).toBeLessThan(4096 + 512);
    expect(envelope.data.message).toBe('x');
  });

  it('one connection at its subscription limit with the largest identity grows Redis by under 1.5 MiB', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const { url } = await startTestNode({ REDIS_URL: redis.url });
    const admin = new Redis(redis.url);
    registerTeardown(() => admin.quit());
    // What is stored, key by key (MEMORY USAGE), not used_memory: that also moves with query
    // buffers and the allocator, which say nothing about what a connection makes Redis keep.
    const usedMemory = async () => {
      let total = 0;
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) total += Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      } while (cursor !== '0');
      return total;
    };
    const client = await connectClient(url);
    const before = await usedMemory();
    const source = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`.padEnd(64, 'k'), 'v'.repeat(960)]));
    const acks = [];
    for (let i = 0; i < 150; i++)
      acks.push(emitWithAck(client, 'join-channel', { data: { roomChannel: `mem-${i}` }, source, time: 't'.repeat(1024) }));
    const results = await Promise.all(acks);
    expect(results.filter((a) => a.ok)).toHaveLength(100);
    expect(results.filter((a) => !a.ok && a.error.code === 'LIMIT_EXCEEDED')).toHaveLength(50);
    const grown = (await usedMemory()) - before;
    // 100 memberships × (identity ≤ ~5 KiB + index entry): about 0.5 MB at worst, against 88 MB before the bound;
    // with recovery on (the default), each join-channel event, the same identity again, is also in its channel's
    // history (about 0.6 MB more), which expires RECOVERY_WINDOW_MS after the channel's last event.
    expect(grown).toBeLessThan(1.5 * 1024 * 1024);
    process.stdout.write(`stored for one connection at its subscription limit, largest identity: ${grown} bytes\n`);
    await expectHealthy(url);
  });
});

describe('Socket.IO sockets per connection', () => {
  it('a burst of 500 namespace CONNECTs on one connection makes one socket: the others are refused or close the connection', async () => {
    const { url, node } = await startNode();
    let connections = 0;
    node.io.on('connection', () => connections++);
    const raw = await connectRawEngineIo(url);
    // One write each, back to back: those that arrive while the first socket is still
    // connecting (Socket.IO connects it a tick after its middlewares) are refused.
    for (let i = 0; i < 500; i++) raw.send('40');
    await raw.waitForFrame((f) => f.startsWith('40{'));
    // A CONNECT after it has connected: Socket.IO itself closes such a connection.
    raw.send('40');
    await raw.closed;
    expect(raw.frames.filter((f) => f.startsWith('40{'))).toHaveLength(1);
    const refusals = raw.frames.filter((f) => f.startsWith('44'));
    for (const refusal of refusals) {
      expect(JSON.parse(refusal.slice(2))).toEqual({
        message: 'CONNECTION_LIMIT',
        data: { code: 'CONNECTION_LIMIT', message: expect.stringContaining('already has a socket') },
      });
    }
    // The mechanism: one socket was ever made for that connection, and nothing of it is left.
    expect(connections).toBe(1);
    await vi.waitFor(() => expect(node.io.of('/').sockets.size).toBe(0));
    await expectHealthy(url);
  });

  it('a socket that left the namespace may connect again on the same connection', async () => {
    const { url, node } = await startNode();
    const raw = await rawSocket(url);
    raw.send('41');
    await vi.waitFor(() => expect(node.io.of('/').sockets.size).toBe(0));
    raw.send('40');
    await raw.waitForFrame((f) => f.startsWith('40{') && raw.frames.filter((x) => x.startsWith('40{')).length === 2);
    expect(node.io.of('/').sockets.size).toBe(1);
  });
});

describe('slow and partial HTTP requests', () => {
  function rawHttp(port: number): TcpSocket & { closedAfterMs: Promise<number>; received: () => string } {
    const started = performance.now();
    const socket = connectTcp({ host: '127.0.0.1', port }) as TcpSocket & { closedAfterMs: Promise<number>; received: () => string };
    registerTeardown(() => socket.destroy());
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.closedAfterMs = new Promise((resolve) => socket.once('close', () => resolve(performance.now() - started)));
    socket.received = () => received;
    return socket;
  }

  it('a long-polling POST with an incomplete body is answered 408 and closed within HTTP_REQUEST_TIMEOUT_MS; others are served meanwhile', async () => {
    const { url, node } = await startNode({ HTTP_REQUEST_TIMEOUT_MS: '1000' });
    const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    const { sid } = JSON.parse((await handshake.text()).slice(1)) as { sid: string };
    const slow = rawHttp(node.port);
    slow.write(
      `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1000\r\n\r\n40`,
    );
    // Headers only, never a body: the same bound.
    const headersOnly = rawHttp(node.port);
    headersOnly.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await expectHealthy(url);
    const [slowClosed, headersClosed] = await Promise.all([slow.closedAfterMs, headersOnly.closedAfterMs]);
    // Checked every half timeout: closed after 1 s, and well before a minute.
    for (const elapsed of [slowClosed, headersClosed]) {
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5000);
    }
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    await expectHealthy(url);
  });

  it('an idle HTTP connection that sends nothing is closed after HTTP_IDLE_TIMEOUT_MS', async () => {
    const { node } = await startNode({ HTTP_IDLE_TIMEOUT_MS: '1000', PING_INTERVAL_MS: '500' });
    const idle = rawHttp(node.port);
    const elapsed = await idle.closedAfterMs;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
  });
});

describe('half-open clients', () => {
  it('a client that stops answering pings leaves every count within PING_INTERVAL_MS + PING_TIMEOUT_MS + PRESENCE_GRACE_MS', async () => {
    const { url, node } = await startNode({
      PING_INTERVAL_MS: '300',
      PING_TIMEOUT_MS: '300',
      HTTP_IDLE_TIMEOUT_MS: '1000',
      PRESENCE_GRACE_MS: '500',
    });
    const watcher = await connectClient(url);
    await emitWithAck(watcher, 'join-channel', { data: { roomChannel: 'ghost' } });
    const silent = await rawSocket(url, { answerPings: false });
    expect(await emitRaw(silent, 'join-channel', '{"data":{"roomChannel":"ghost"}}')).toEqual({ ok: true, onlineUsers: 2 });
    const started = performance.now();
    const left = nextEvent<RelayedEnvelope>(watcher, 'leave-channel');
    await left;
    // Found lost after a missed ping, then kept as a member for the grace (it could come back and recover).
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
    expect(performance.now() - started).toBeLessThan(600 + 500 + 1500);
    expect(await node.presence.count(channelTopic('ghost'))).toBe(1);
    // The watcher, which answers its pings, is still connected.
    expect(watcher.connected).toBe(true);
    const metrics = await node.metrics.registry.getSingleMetricAsString('realtime_connections_closed_total');
    expect(metrics).toContain('reason="ping timeout"} 1');
  });
});

describe('readiness and a hung Redis', () => {
  it('/readyz turns 503 within a few seconds of Redis not answering, without pinging it per probe, and back to 200 after', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const { url } = await startTestNode({ REDIS_URL: redis.url, HEARTBEAT_INTERVAL_MS: '300', NODE_TTL_MS: '1500' });
    const admin = new Redis(redis.url);
    registerTeardown(() => admin.disconnect());
    const pings = async () => Number(/cmdstat_ping:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const pingsBefore = await pings();
    for (let i = 0; i < 20; i++) expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await pings()).toBe(pingsBefore);

    redis.pause();
    const stalledAt = performance.now();
    await vi.waitFor(
      async () => {
        const response = await fetch(`${url}/readyz`);
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ status: 'redis-not-answering' });
      },
      { timeout: 10_000, interval: 50 },
    );
    // Two heartbeats plus a second, and the heartbeat's own period.
    expect(performance.now() - stalledAt).toBeLessThan(4000);
    redis.resume();
    await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 15_000, interval: 50 });
  });
});
