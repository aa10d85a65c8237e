import { beforeAll, describe, expect, it, vi } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  record,
  registerTeardown,
  startCluster,
  startServerProcess,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { join, member } from './support/cluster-clients.js';
import { metricValue, nextExpiring, nowS, watchClose, type Timed } from './support/auth-expiry.js';
import { redisEnv } from './support/redis-env.js';
import { HS_SECRET, signToken } from './support/tokens.js';

/**
 * Token expiry (issue 10, section 3) on node processes: `auth-expiring`
 * `{ expiresAt }` at max(exp − AUTH_REFRESH_WARNING_MS, iat + (exp − iat)/2),
 * at once when that has passed; without a valid refresh, `server-close`
 * AUTH_EXPIRED at max(exp, connect) + AUTH_EXPIRY_GRACE_MS, terminal, and
 * the usual leave-* on every node. Token times are whole seconds: expected
 * moments are computed from the claims each test signed.
 */

/** Timers never fire early (up to Node's 1 ms rounding); a loaded 2-core machine may deliver late. */
const EARLY_MS = 20;
const LATE_MS = 1500;

function expectAround(at: Timed<unknown>, expectedMs: number): void {
  expect(at.atMs).toBeGreaterThanOrEqual(expectedMs - EARLY_MS);
  expect(at.atMs).toBeLessThanOrEqual(expectedMs + LATE_MS);
}

/**
 * A client whose `auth-expiring` listener is attached before it connects
 * (an immediate warning can share a polling payload with the CONNECT).
 */
async function clientWatchingExpiry(url: string, token: string): Promise<{ socket: Socket; expiring: ReturnType<typeof nextExpiring> }> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, auth: { token } });
  registerTeardown(() => socket.disconnect());
  const expiring = nextExpiring(socket);
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.connect();
  await connected;
  return { socket, expiring };
}

describe('auth-expiring', () => {
  let node: ServerProcess;
  beforeAll(async () => {
    node = await startServerProcess({
      nodeId: 'auth-expiring',
      // A long grace: no connection here is closed while its warning is measured.
      env: { AUTH_MODE: 'required', AUTH_JWT_SECRET: HS_SECRET, AUTH_REFRESH_WARNING_MS: '2000', AUTH_EXPIRY_GRACE_MS: '60000' },
    });
  }, 30_000);

  it('comes AUTH_REFRESH_WARNING_MS before exp, never before half the lifetime, at once when both have passed', async () => {
    const now = nowS();
    const [warningWins, halfLifeWins, alreadyDue] = await Promise.all([
      // Lifetime 6 s: exp − 2 s is after the half-life (3 s).
      signToken(HS_SECRET, { sub: 'warning-wins' }, { issuedAt: now, expiresAt: now + 6 }),
      // Lifetime 3 s: exp − 2 s (1 s in) would be before the half-life (1.5 s in).
      signToken(HS_SECRET, { sub: 'half-life-wins' }, { issuedAt: now, expiresAt: now + 3 }),
      // Both moments passed before the connect.
      signToken(HS_SECRET, { sub: 'already-due' }, { issuedAt: now - 20, expiresAt: now + 1 }),
    ]);
    const clients = await Promise.all([warningWins, halfLifeWins, alreadyDue].map((token) => clientWatchingExpiry(node.url, token)));
    const connectedAtMs = Date.now();
    const [a, b, c] = await Promise.all(clients.map((client) => client.expiring));

    expect(a!.payload).toEqual({ expiresAt: now + 6 });
    expectAround(a!, (now + 6) * 1000 - 2000);

    expect(b!.payload).toEqual({ expiresAt: now + 3 });
    expectAround(b!, now * 1000 + 1500);
    expect(b!.atMs).toBeGreaterThanOrEqual((now + 3) * 1000 - 2000 + 500 - EARLY_MS);

    expect(c!.payload).toEqual({ expiresAt: now + 1 });
    expect(c!.atMs).toBeLessThanOrEqual(connectedAtMs + LATE_MS);
  });

  it('connections without exp get no timers: nothing is scheduled for them', async () => {
    const before = await metricValue(node.url, 'realtime_auth_expiry_timers');
    const socket = await connectClient(node.url, { auth: { token: await signToken(HS_SECRET, { sub: 'forever' }, { expiresAt: null }) } });
    expect(socket.connected).toBe(true);
    expect(await metricValue(node.url, 'realtime_auth_expiry_timers')).toBe(before ?? 0);
  });
});

describe('expiry without a refresh, on two nodes sharing a real Redis', () => {
  let nodes: ServerProcess[];
  beforeAll(async () => {
    const env = await redisEnv('standalone');
    nodes = await startCluster(2, {
      namePrefix: 'auth-expiry',
      keyPrefix: uniqueKeyPrefix('auth-expiry'),
      env: { ...env, AUTH_MODE: 'required', AUTH_JWT_SECRET: HS_SECRET, AUTH_REFRESH_WARNING_MS: '1000', AUTH_EXPIRY_GRACE_MS: '1000' },
    });
  }, 30_000);

  it('closed at exp + grace with server-close AUTH_EXPIRED (terminal: no reconnect); a member on the other node sees leave-channel and leave-room', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const exp = nowS() + 2;
    const expiring = member(
      await connectClient(a.url, { auth: { token: await signToken(HS_SECRET, { sub: 'short' }, { expiresAt: exp }) }, reconnection: true }),
    );
    const observer = member(await connectClient(b.url, { auth: { token: await signToken(HS_SECRET, { sub: 'observer' }) } }));
    for (const m of [observer, expiring]) {
      await join(m, 'expiry-ch');
      await join(m, 'expiry-ch', 'r1');
    }
    const expiringId = expiring.socket.id;
    const leftChannel = record<RelayedEnvelope>(observer.socket, 'leave-channel');
    const leftRoom = record<RelayedEnvelope>(observer.socket, 'leave-room');
    const closed = watchClose(expiring.socket);

    const close = await closed.event;
    expect(close.payload).toEqual({ code: 'AUTH_EXPIRED', message: expect.stringContaining('expired'), retry: false });
    expectAround(close, exp * 1000 + 1000);
    expect(await closed.reason).toBe('io server disconnect');
    // Terminal: socket.io-client schedules no reconnection.
    expect(expiring.socket.active).toBe(false);
    await vi.waitFor(
      () => {
        expect(leftChannel.map((e) => [e.clientId, e.data.roomChannel])).toEqual([[expiringId, 'expiry-ch']]);
        expect(leftRoom.map((e) => [e.clientId, e.data.roomId])).toEqual([[expiringId, 'r1']]);
      },
      { timeout: 5000, interval: 20 },
    );
    expect(await metricValue(a.url, 'realtime_server_closes_total{code="AUTH_EXPIRED"}')).toBe(1);
  });

  it('a token accepted after its exp (the verifier allows 30 s of clock skew) gets the grace from the connect', async () => {
    const [a] = nodes as [ServerProcess];
    const token = await signToken(HS_SECRET, { sub: 'late' }, { issuedAt: nowS() - 60, expiresAt: nowS() - 5 });
    const socket = io(a.url, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, auth: { token } });
    registerTeardown(() => socket.disconnect());
    const closed = watchClose(socket);
    const connected = new Promise<number>((resolve) => socket.once('connect', () => resolve(Date.now())));
    // The server counts the grace from its own `connection`, which falls between these two moments.
    const connectingAtMs = Date.now();
    socket.connect();
    const connectedAtMs = await connected;
    const close = await closed.event;
    expect(close.payload.code).toBe('AUTH_EXPIRED');
    expect(close.atMs).toBeGreaterThanOrEqual(connectingAtMs + 1000 - EARLY_MS);
    expect(close.atMs).toBeLessThanOrEqual(connectedAtMs + 1000 + LATE_MS);
  });

  it('a disconnected connection leaves no timer behind, and refreshes do not add any', async () => {
    const [a] = nodes as [ServerProcess];
    const base = (await metricValue(a.url, 'realtime_auth_expiry_timers')) ?? 0;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => signToken(HS_SECRET, { sub: `leak-${i}` }, { expiresIn: 300 })));
    const sockets = await Promise.all(tokens.map((token) => connectClient(a.url, { auth: { token } })));
    await vi.waitFor(async () => expect(await metricValue(a.url, 'realtime_auth_expiry_timers')).toBe(base + 20), { timeout: 5000 });
    const first = sockets[0] as Socket;
    for (let i = 0; i < 5; i++) {
      const token = await signToken(HS_SECRET, { sub: 'leak-0' }, { expiresIn: 300 + i });
      expect(await first.timeout(10_000).emitWithAck('auth-refresh', { token })).toMatchObject({ ok: true });
    }
    expect(await metricValue(a.url, 'realtime_auth_expiry_timers')).toBe(base + 20);
    for (const socket of sockets) socket.disconnect();
    await vi.waitFor(async () => expect(await metricValue(a.url, 'realtime_auth_expiry_timers')).toBe(base), { timeout: 5000 });
  });
});
