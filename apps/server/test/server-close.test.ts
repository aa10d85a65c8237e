import { describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { ErrorCode, type ServerClose } from '@realtime/protocol';
import {
  connectClient,
  connectRawEngineIo,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  registerTeardown,
  startServerProcess,
  type Transport,
} from '@realtime/testing';
import { createRealtimeClient, type RealtimeError } from '@realtime/client';
import { startTestNode } from './support/start-test-node.js';
import { closeConnection } from '../src/server-close.js';

/**
 * Issue "trust", section 4: every server-initiated close says why first
 * (`server-close` `{ code, message, retry, retryAfterMs? }`), and then the
 * client does or does not reconnect as documented: retryable codes close the
 * transport (socket.io-client reconnects), terminal ones disconnect at the
 * Socket.IO level (it does not).
 */

/** What a client saw of a server close: the event, then the disconnect reason. */
function watchClose(client: Socket): { event: Promise<ServerClose>; reason: Promise<string> } {
  const event = nextEvent<ServerClose>(client, 'server-close');
  const reason = new Promise<string>((resolve) => client.once('disconnect', (r) => resolve(r)));
  return { event, reason };
}

/** Resolves when socket.io-client starts reconnecting (its Manager's first attempt). */
function reconnectAttempt(client: Socket): Promise<void> {
  return new Promise((resolve) => client.io.once('reconnect_attempt', () => resolve()));
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('SHUTDOWN: a draining node tells every client, which reconnects', () => {
  for (const transport of ['websocket', 'polling'] as Transport[]) {
    it(`over ${transport}: server-close SHUTDOWN (retry: true) arrives before "transport close", then socket.io-client reconnects`, async () => {
      const { url, node } = await startTestNode();
      const client = await connectClient(url, { transports: [transport], reconnection: true });
      const seen = watchClose(client);
      const attempt = reconnectAttempt(client);
      // nextEvent removes its listener when the event arrives: none left at the disconnect means it came first.
      let eventBeforeDisconnect = false;
      client.once('disconnect', () => (eventBeforeDisconnect = client.listeners('server-close').length === 0));
      const metrics = await scrape(url);
      expect(metrics).not.toContain('realtime_server_closes_total{code="SHUTDOWN"}');
      await node.close();
      expect(await seen.event).toEqual({ code: ErrorCode.SHUTDOWN, message: expect.stringContaining('shutting down'), retry: true });
      expect(await seen.reason).toBe('transport close');
      expect(eventBeforeDisconnect).toBe(true);
      // Retryable: socket.io-client stays active and tries again with its backoff.
      await attempt;
      expect(client.active).toBe(true);
      expect(await node.metrics.registry.getSingleMetricAsString('realtime_server_closes_total')).toContain(
        'realtime_server_closes_total{code="SHUTDOWN"} 1',
      );
      client.disconnect();
    });
  }

  it('a node process drained by SIGTERM tells its clients SHUTDOWN before it exits 0; socket.io-client stays active to reconnect', async () => {
    const draining = await startServerProcess({ nodeId: 'drain-a' });
    const client = await connectClient(draining.url, { reconnection: true });
    const seen = watchClose(client);
    draining.signal('SIGTERM');
    expect((await seen.event).code).toBe(ErrorCode.SHUTDOWN);
    expect(await seen.reason).toBe('transport close');
    expect(await draining.exited).toEqual({ code: 0, signal: null });
    expect(client.active).toBe(true);
  });
});

describe('RATE_LIMITED: a connection that keeps sending into its refusals is closed', () => {
  it('the refusal past RATE_LIMIT_CLOSE_AFTER in 10 s closes it with server-close RATE_LIMITED, retryAfterMs the refill time', async () => {
    const { url } = await startTestNode({ RATE_LIMIT_EVENTS_PER_SECOND: '1', RATE_LIMIT_BURST: '2', RATE_LIMIT_CLOSE_AFTER: '5' });
    const raw = await connectRawEngineIo(url);
    raw.send('40');
    await raw.waitForFrame((f) => f.startsWith('40{'));
    // Two pass the bucket (the burst; answered at once, NOT_A_MEMBER), five are refused
    // RATE_LIMITED and the connection stays; the sixth refusal closes it.
    for (let id = 1; id <= 8; id++) raw.send(`42${id}["c",{"data":{"roomChannel":"c","message":"${id}"}}]`);
    await raw.closed;
    const codes = raw.frames
      .filter((f) => f.startsWith('43'))
      .map((f) => (JSON.parse(f.replace(/^43\d+/, '')) as [{ error: { code: string } }])[0].error.code);
    expect(codes).toEqual(['NOT_A_MEMBER', 'NOT_A_MEMBER', ...Array<string>(6).fill('RATE_LIMITED')]);
    const closes = raw.frames.filter((f) => f.startsWith('42["server-close"'));
    expect(closes).toHaveLength(1);
    expect(JSON.parse((closes[0] as string).slice(2))).toEqual([
      'server-close',
      { code: 'RATE_LIMITED', message: expect.stringContaining('more than 5 times in 10 s'), retry: true, retryAfterMs: 2000 },
    ]);
    // The close came right after the sixth refusal, before any later ack: nothing after it was handled.
    const closeAt = raw.frames.indexOf(closes[0] as string);
    expect(raw.frames.slice(closeAt + 1).some((f) => f.startsWith('43'))).toBe(false);
    expect(await scrape(url)).toContain('realtime_server_closes_total{code="RATE_LIMITED"} 1');
  });

  it('socket.io-client sees the event, "transport close", and reconnects to the same node', async () => {
    const { url } = await startTestNode({ RATE_LIMIT_EVENTS_PER_SECOND: '1', RATE_LIMIT_BURST: '1', RATE_LIMIT_CLOSE_AFTER: '3' });
    const client = await connectClient(url, { reconnection: true });
    const firstId = client.id;
    const seen = watchClose(client);
    const reconnected = new Promise<void>((resolve) => client.io.once('reconnect', () => resolve()));
    for (let i = 0; i < 10; i++) client.emit('join-channel', guideEnvelope({ roomChannel: `c${i}` }, client));
    expect(await seen.event).toMatchObject({ code: 'RATE_LIMITED', retry: true, retryAfterMs: 1000 });
    expect(await seen.reason).toBe('transport close');
    await reconnected;
    expect(client.id).not.toBe(firstId);
    // A fresh connection with a full bucket.
    expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'after' }, client))).toMatchObject({ ok: true });
    client.disconnect();
  });

  it('RATE_LIMIT_CLOSE_AFTER=0: refusals never close the connection', async () => {
    const { url } = await startTestNode({ RATE_LIMIT_EVENTS_PER_SECOND: '1', RATE_LIMIT_BURST: '1', RATE_LIMIT_CLOSE_AFTER: '0' });
    const raw = await connectRawEngineIo(url);
    raw.send('40');
    await raw.waitForFrame((f) => f.startsWith('40{'));
    for (let id = 1; id <= 300; id++) raw.send(`42${id}["join-channel",{"data":{"roomChannel":"x"}}]`);
    await raw.waitForFrame((f) => f.startsWith('43300['));
    expect(raw.frames.filter((f) => f.includes('RATE_LIMITED')).length).toBeGreaterThanOrEqual(290);
    expect(raw.frames.some((f) => f.startsWith('42["server-close"'))).toBe(false);
    raw.close();
  });
});

describe('terminal codes disconnect at the Socket.IO level', () => {
  it('FORBIDDEN (retry: false): the event, then "io server disconnect", and socket.io-client does not reconnect', async () => {
    const { url, node } = await startTestNode();
    const client = await connectClient(url, { reconnection: true });
    const seen = watchClose(client);
    const socket = node.io.of('/').sockets.get(client.id as string);
    expect(socket).toBeDefined();
    closeConnection(node.metrics, socket!, ErrorCode.FORBIDDEN, 'not allowed any more');
    expect(await seen.event).toEqual({ code: 'FORBIDDEN', message: 'not allowed any more', retry: false });
    expect(await seen.reason).toBe('io server disconnect');
    // socket.io-client's rule: after a server disconnect the socket is inactive and schedules no reconnection.
    expect(client.active).toBe(false);
    expect(await scrape(url)).toContain('realtime_server_closes_total{code="FORBIDDEN"} 1');
  });
});

describe('the SDK honours server-close', () => {
  it('after a terminal code (retry: false) it does not reconnect: every membership is lost with that code', async () => {
    const { url, node } = await startTestNode();
    const rt = createRealtimeClient(url, { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 100 });
    registerTeardown(() => rt.close());
    const channel = await rt.joinChannel('terminal');
    const lost = new Promise<RealtimeError>((resolve) => rt.once('lost', (_membership, error) => resolve(error)));
    const socket = [...node.io.of('/').sockets.values()][0];
    expect(socket).toBeDefined();
    closeConnection(node.metrics, socket!, ErrorCode.FORBIDDEN, 'not allowed any more');
    expect(await lost).toMatchObject({ code: 'FORBIDDEN', message: 'not allowed any more', retryable: false });
    expect(channel.state).toBe('lost');
    expect(node.io.of('/').sockets.size).toBe(0);
    expect(rt.connected).toBe(false);
  });
});
