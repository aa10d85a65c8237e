import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { OnlineUsersEnvelope, RelayedEnvelope } from '@realtime/protocol';
import { connectClient, emitWithAck, guideEnvelope, nextEvent, record, startServerProcess, type ServerProcess } from '@realtime/testing';
import { metricValue, nowS, watchClose } from './support/auth-expiry.js';
import { startTestNode } from './support/start-test-node.js';
import { HS_SECRET, signToken } from './support/tokens.js';

/**
 * In-band renewal (issue 10, section 3) on a node process: `auth-refresh`
 * `{ token }`, checked by the handshake's authorizer. Same `sub`: the
 * connection goes on past its old expiry (same socket, no leave/join) and
 * leaves at once what the new grants no longer let it join; refused
 * (AUTH_INVALID / AUTH_EXPIRED): only the ack says so and the old expiry
 * stands; another `sub`: FORBIDDEN and a terminal close. The same with and
 * without an ack.
 */

const OTHER_SECRET = 'another-hmac-secret-0123456789abcdef';
const GRACE_MS = 500;

const channel = (socket: Socket, roomChannel: string, message = '') => guideEnvelope({ roomChannel, message }, socket);
const room = (socket: Socket, roomChannel: string, roomId: string) => guideEnvelope({ roomChannel, roomId }, socket);

async function joinAll(socket: Socket, topics: readonly (readonly [string, string?])[]): Promise<void> {
  for (const [ch, roomId] of topics) {
    const ack = await emitWithAck(
      socket,
      roomId === undefined ? 'join-channel' : 'join-room',
      roomId === undefined ? channel(socket, ch) : room(socket, ch, roomId),
    );
    expect(ack).toMatchObject({ ok: true });
  }
}

describe.each(['websocket', 'polling'] as const)('auth-refresh over %s', (transport) => {
  let node: ServerProcess;
  let url: string;
  beforeAll(async () => {
    node = await startServerProcess({
      nodeId: `auth-refresh-${transport}`,
      env: {
        AUTH_MODE: 'optional',
        AUTH_JWT_SECRET: HS_SECRET,
        AUTH_REFRESH_WARNING_MS: '1000',
        AUTH_EXPIRY_GRACE_MS: String(GRACE_MS),
      },
    });
    url = node.url;
  }, 30_000);

  const connectAs = async (sub: string, options: { expiresAt?: number; channels?: Record<string, string[]> } = {}): Promise<Socket> => {
    const claims = options.channels === undefined ? { sub } : { sub, channels: options.channels };
    return connectClient(url, {
      transports: [transport],
      auth: { token: await signToken(HS_SECRET, claims, { expiresAt: options.expiresAt }) },
    });
  };

  it('a valid token for the same sub extends the connection past its old exp + grace, with and without an ack: same socket, no leave/join', async () => {
    const exp = nowS() + 2;
    const observer = await connectAs('observer');
    const acked = await connectAs('alice', { expiresAt: exp });
    const unacked = await connectAs('bob', { expiresAt: exp });
    // Refreshes nothing and would have been closed a second after the others: when it is, their old expiry has long passed.
    const control = await connectAs('carol', { expiresAt: exp + 1 });
    for (const socket of [observer, acked, unacked, control]) await joinAll(socket, [['refresh-ch'], ['refresh-ch', 'r']]);
    const ids = [acked.id, unacked.id];
    const controlId = control.id;
    const joins = [...record<RelayedEnvelope>(observer, 'join-channel'), ...record<RelayedEnvelope>(observer, 'join-room')];
    const leaves = record<RelayedEnvelope>(observer, 'leave-channel');
    const roomLeaves = record<RelayedEnvelope>(observer, 'leave-room');
    const controlClosed = watchClose(control);

    const newExp = nowS() + 120;
    expect(
      await emitWithAck(acked, 'auth-refresh', { token: await signToken(HS_SECRET, { sub: 'alice' }, { expiresAt: newExp }) }),
    ).toEqual({
      ok: true,
      expiresAt: newExp,
    });
    unacked.emit('auth-refresh', { token: await signToken(HS_SECRET, { sub: 'bob' }, { expiresAt: newExp }) });

    expect((await controlClosed.event).payload.code).toBe('AUTH_EXPIRED');
    await vi.waitFor(() => expect(leaves.map((e) => e.clientId)).toContain(controlId), { timeout: 5000 });
    expect([acked.connected, unacked.connected]).toEqual([true, true]);
    expect([acked.id, unacked.id]).toEqual(ids);
    expect([...leaves, ...roomLeaves].filter((e) => ids.includes(e.clientId))).toEqual([]);
    expect(joins).toEqual([]);
    // Still a member: its messages are relayed.
    const relayed = nextEvent<RelayedEnvelope>(observer, 'refresh-ch', (e) => e.data.message === 'still here');
    expect(await emitWithAck(unacked, 'refresh-ch', channel(unacked, 'refresh-ch', 'still here'))).toEqual({ ok: true });
    expect((await relayed).source.userId).toBe('bob');
  });

  it('an invalid or expired token is only refused (AUTH_INVALID, AUTH_EXPIRED): the connection still closes at its old expiry', async () => {
    const exp = nowS() + 2;
    const client = await connectAs('dave', { expiresAt: exp });
    const closed = watchClose(client);
    expect(
      await emitWithAck(client, 'auth-refresh', { token: await signToken(OTHER_SECRET, { sub: 'dave' }, { expiresAt: exp + 60 }) }),
    ).toEqual({
      ok: false,
      error: { code: 'AUTH_INVALID', message: expect.any(String) },
    });
    expect(
      await emitWithAck(client, 'auth-refresh', {
        token: await signToken(HS_SECRET, { sub: 'dave' }, { issuedAt: nowS() - 600, expiresAt: nowS() - 120 }),
      }),
    ).toEqual({ ok: false, error: { code: 'AUTH_EXPIRED', message: 'the token has expired' } });
    // Without an ack: refused the same way, silently.
    client.emit('auth-refresh', { token: 'not-a-jwt' });
    expect(client.connected).toBe(true);
    const close = await closed.event;
    expect(close.payload).toMatchObject({ code: 'AUTH_EXPIRED', retry: false });
    expect(close.atMs).toBeGreaterThanOrEqual(exp * 1000 + GRACE_MS - 20);
    expect(await closed.reason).toBe('io server disconnect');
  });

  it('a token for another sub: FORBIDDEN, then server-close FORBIDDEN (terminal), with and without an ack', async () => {
    const acked = await connectAs('erin');
    const unacked = await connectAs('frank');
    const ackedClosed = watchClose(acked);
    const unackedClosed = watchClose(unacked);
    const mallory = await signToken(HS_SECRET, { sub: 'mallory' });
    expect(await emitWithAck(acked, 'auth-refresh', { token: mallory })).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN', message: expect.stringContaining('another user') },
    });
    unacked.emit('auth-refresh', { token: mallory });
    for (const closed of [ackedClosed, unackedClosed]) {
      expect((await closed.event).payload).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining('another user'), retry: false });
      expect(await closed.reason).toBe('io server disconnect');
    }
    expect([acked.active, unacked.active]).toEqual([false, false]);
  });

  it('narrower grants: the channel and the room it may no longer join are left within 1 s (leave-*, counts), the broader channel kept', async () => {
    const observer = await connectAs('watcher');
    const narrowed = await connectAs('grace', { channels: { 'chat-*': ['join', 'publish'], news: ['join'] } });
    const topics = [['chat-1'], ['chat-1', 'r'], ['news'], ['news', 'desk']] as const;
    await joinAll(observer, topics);
    await joinAll(narrowed, topics);
    const leaves = record<RelayedEnvelope>(observer, 'leave-channel');
    const roomLeaves = record<RelayedEnvelope>(observer, 'leave-room');
    const newsCounts = record<OnlineUsersEnvelope>(observer, 'online-users');
    const deskCounts = record<OnlineUsersEnvelope>(observer, 'room-online-users');
    const token = await signToken(HS_SECRET, { sub: 'grace', channels: { 'chat-*': ['join', 'publish'] } });
    const startedAtMs = Date.now();
    narrowed.emit('auth-refresh', { token });
    await vi.waitFor(
      () => {
        expect(leaves.map((e) => [e.clientId, e.data.roomChannel])).toEqual([[narrowed.id, 'news']]);
        expect(roomLeaves.map((e) => [e.clientId, e.data.roomChannel, e.data.roomId])).toEqual([[narrowed.id, 'news', 'desk']]);
        expect(newsCounts.filter((e) => e.data.roomChannel === 'news').at(-1)?.data.onlineUsers).toBe(1);
        expect(deskCounts.filter((e) => e.data.roomId === 'desk').at(-1)?.data.onlineUsers).toBe(1);
      },
      { timeout: 5000, interval: 10 },
    );
    expect(Date.now() - startedAtMs).toBeLessThan(1000);
    // Out of news: sending there is refused; joining it again is FORBIDDEN.
    expect(await emitWithAck(narrowed, 'join-channel', channel(narrowed, 'news'))).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    // chat-1 and its room are kept.
    const relayed = nextEvent<RelayedEnvelope>(observer, 'notify-room', (e) => e.data.roomId === 'r');
    expect(
      await emitWithAck(narrowed, 'notify-room', guideEnvelope({ roomChannel: 'chat-1', roomId: 'r', message: 'kept' }, narrowed)),
    ).toEqual({ ok: true });
    expect((await relayed).clientId).toBe(narrowed.id);
    expect(await emitWithAck(narrowed, 'leave-channel', channel(narrowed, 'chat-1'))).toMatchObject({ ok: true, onlineUsers: 1 });
  });

  it('an anonymous connection is refused FORBIDDEN and stays as it was', async () => {
    const anonymous = await connectClient(url, { transports: [transport] });
    expect(await emitWithAck(anonymous, 'auth-refresh', { token: await signToken(HS_SECRET, { sub: 'anon' }) })).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN', message: expect.stringContaining('reconnect with the token') },
    });
    expect(await emitWithAck(anonymous, 'join-channel', channel(anonymous, 'open'))).toMatchObject({ ok: true });
  });

  it('a malformed request: INVALID_PAYLOAD; a token over 16 384 characters: PAYLOAD_TOO_LARGE; the connection goes on', async () => {
    const client = await connectAs('heidi');
    for (const payload of [undefined, 'token', {}, { token: 42 }, { token: '' }]) {
      expect(await emitWithAck(client, 'auth-refresh', payload)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    }
    expect(await emitWithAck(client, 'auth-refresh', { token: 'a'.repeat(16_385) })).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('16384') },
    });
    expect(client.connected).toBe(true);
    expect(await metricValue(url, 'realtime_auth_refreshes_total{outcome="PAYLOAD_TOO_LARGE"}')).toBe(1);
  });
});

describe('auth-refresh without tokens, and its rate', () => {
  it('AUTH_MODE=off: FORBIDDEN, the connection stays', async () => {
    const { url } = await startTestNode();
    const client = await connectClient(url);
    expect(await emitWithAck(client, 'auth-refresh', { token: await signToken(HS_SECRET, { sub: 'x' }) })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(client.connected).toBe(true);
  });

  it('goes through the per-connection rate limit like every event', async () => {
    const { url } = await startTestNode({
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: HS_SECRET,
      RATE_LIMIT_EVENTS_PER_SECOND: '1',
      RATE_LIMIT_BURST: '1',
    });
    const client = await connectClient(url, { auth: { token: await signToken(HS_SECRET, { sub: 'ivan' }) } });
    const token = await signToken(HS_SECRET, { sub: 'ivan' }, { expiresIn: 600 });
    const [first, second] = await Promise.all([
      emitWithAck(client, 'auth-refresh', { token }),
      emitWithAck(client, 'auth-refresh', { token }),
    ]);
    expect(first).toMatchObject({ ok: true });
    expect(second).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
  });
});
