import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import pino from 'pino';
import type { ServerClose } from '@realtime/protocol';
import { connectClient, emitWithAck, nextEvent, registerTeardown } from '@realtime/testing';
import type { Authentication, Authorizer, Principal } from '../src/auth/authorizer.js';
import { ExpiryScheduler } from '../src/auth/expiry-scheduler.js';
import { parseChannelGrants, type ChannelGrants } from '../src/auth/channel-grants.js';
import { tokenRefresher } from '../src/auth/token-refresh.js';
import { createMetrics } from '../src/metrics.js';
import type { RealtimeServer, RealtimeSocket } from '../src/socket-types.js';

/**
 * REVOKED on auth-refresh. Revocation (section 5) wraps the node's
 * Authorizer so that it refuses revoked tokens with REVOKED; the refresh
 * handler asks only `authenticate`, so it inherits that refusal. Here an
 * authorizer that refuses like the wrapped one drives the real handler on a
 * real Socket.IO server and client: ack REVOKED, then server-close REVOKED
 * (terminal), with and without an ack.
 */

const GRANTS = parseChannelGrants({ '*': ['join', 'publish'] }) as ChannelGrants;
const ALICE: Principal = { userId: 'alice', userName: undefined, grants: GRANTS, expiresAt: undefined, issuedAt: undefined };

/** Refuses every refresh token as revoked, the way the revocation wrapper does. */
const revokingAuthorizer: Authorizer = {
  authenticate: (): Promise<Authentication> => Promise.resolve({ ok: false, code: 'REVOKED', message: 'this token has been revoked' }),
};

async function serverWithRefresh(): Promise<{ url: string; expiry: ExpiryScheduler<RealtimeSocket> }> {
  const http = createServer();
  const io: RealtimeServer = new Server(http);
  const metrics = createMetrics();
  const expiry = new ExpiryScheduler<RealtimeSocket>({ warningMs: 1000, graceMs: 1000, warn: () => undefined, expire: () => undefined });
  const refresh = tokenRefresher({
    authorizer: revokingAuthorizer,
    expiry,
    leaveTopic: () => Promise.resolve(undefined),
    metrics,
    logger: pino({ level: 'silent' }),
  });
  io.on('connection', (socket) => {
    socket.data.principal = ALICE;
    socket.data.joinedAt = new Map();
    socket.on('auth-refresh', (...args: unknown[]) => {
      const ack = typeof args[1] === 'function' ? (args[1] as (response: unknown) => void) : undefined;
      void refresh(socket, args[0], ack);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  registerTeardown(async () => {
    await io.close();
  });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, expiry };
}

describe('auth-refresh refused REVOKED', () => {
  it('acks REVOKED, then closes with server-close REVOKED (terminal), with and without an ack', async () => {
    const { url } = await serverWithRefresh();
    const acked = await connectClient(url);
    const unacked = await connectClient(url);
    const closes = [acked, unacked].map((socket) => nextEvent<ServerClose>(socket, 'server-close'));
    const reasons = [acked, unacked].map((socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve)));
    expect(await emitWithAck(acked, 'auth-refresh', { token: 'revoked.jwt.token' })).toEqual({
      ok: false,
      error: { code: 'REVOKED', message: 'this token has been revoked' },
    });
    unacked.emit('auth-refresh', { token: 'revoked.jwt.token' });
    for (const close of closes) expect(await close).toEqual({ code: 'REVOKED', message: 'this token has been revoked', retry: false });
    expect(await Promise.all(reasons)).toEqual(['io server disconnect', 'io server disconnect']);
    expect([acked.active, unacked.active]).toEqual([false, false]);
  });
});
