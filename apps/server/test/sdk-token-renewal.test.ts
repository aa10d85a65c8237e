import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  record,
  registerTeardown,
  startServerProcess,
  type ServerProcess,
} from '@realtime/testing';
import { createRealtimeClient, type RealtimeClient, type RealtimeError } from '@realtime/client';
import { nowS } from './support/auth-expiry.js';
import { HS_SECRET, signToken } from './support/tokens.js';

/**
 * The SDK's `getToken` (issue 10, section 3) against a node process: it
 * gives the handshake its token, and on every `auth-expiring` the SDK asks
 * it again and sends `auth-refresh` by itself, retrying a failed getToken()
 * with backoff before the expiry. Tokens live 3 s: with a 1 s warning the
 * server asks for a new one about every 2 s.
 */

const LIFETIME_S = 3;
const API_SECRET = 'sdk-token-renewal-api-secret';

function shortToken(sub: string): Promise<string> {
  const now = nowS();
  return signToken(HS_SECRET, { sub }, { issuedAt: now, expiresAt: now + LIFETIME_S });
}

function client(url: string, getToken: () => Promise<string>): RealtimeClient {
  const rt = createRealtimeClient(url, { getToken, reconnectionDelayMs: 100, reconnectionDelayMaxMs: 200 });
  registerTeardown(() => rt.close());
  return rt;
}

function nextTokenEvent(rt: RealtimeClient, event: 'token_refresh'): Promise<number | undefined>;
function nextTokenEvent(rt: RealtimeClient, event: 'token_error'): Promise<RealtimeError>;
function nextTokenEvent(rt: RealtimeClient, event: 'token_refresh' | 'token_error'): Promise<unknown> {
  return new Promise((resolve) => rt.once(event, resolve));
}

describe('SDK getToken', () => {
  let node: ServerProcess;
  beforeAll(async () => {
    node = await startServerProcess({
      nodeId: 'sdk-token-renewal',
      env: {
        AUTH_MODE: 'required',
        AUTH_JWT_SECRET: HS_SECRET,
        AUTH_REFRESH_WARNING_MS: '1000',
        AUTH_EXPIRY_GRACE_MS: '500',
        API_KEYS: `ops:${API_SECRET}`,
      },
    });
  }, 30_000);

  it('renews by itself across several expiries: the same connection, no reconnect, no leave/join seen by others', async () => {
    let calls = 0;
    const rt = client(node.url, () => {
      calls++;
      return shortToken('sdk-user');
    });
    const disconnects: string[] = [];
    rt.on('disconnect', (reason) => disconnects.push(reason));
    const errors: RealtimeError[] = [];
    rt.on('token_error', (error) => errors.push(error));
    const refreshed: (number | undefined)[] = [];
    rt.on('token_refresh', (expiresAt) => refreshed.push(expiresAt));

    const observer = await connectClient(node.url, { auth: { token: await signToken(HS_SECRET, { sub: 'observer' }) } });
    expect(await emitWithAck(observer, 'join-channel', guideEnvelope({ roomChannel: 'sdk-renewal' }, observer))).toMatchObject({
      ok: true,
    });
    const announced = nextEvent<RelayedEnvelope>(observer, 'join-channel', (e) => e.source.userId === 'sdk-user');
    const channel = await rt.joinChannel('sdk-renewal');
    const id = rt.id;
    // join-* announcements are queued behind acks: recorded from after this one.
    expect((await announced).clientId).toBe(id);
    const joins = record<RelayedEnvelope>(observer, 'join-channel');
    const leaves = record<RelayedEnvelope>(observer, 'leave-channel');

    // Three renewals take about three lifetimes' worth of warnings: well past the first token's exp + grace.
    const firstExpiry = nowS() + LIFETIME_S;
    await vi.waitFor(() => expect(refreshed.length).toBeGreaterThanOrEqual(3), { timeout: 20_000, interval: 50 });
    expect(Date.now()).toBeGreaterThan(firstExpiry * 1000 + 500);
    expect(refreshed.every((expiresAt) => typeof expiresAt === 'number' && expiresAt > firstExpiry - LIFETIME_S)).toBe(true);
    expect(calls).toBe(refreshed.length + 1);
    expect(errors).toEqual([]);
    expect(disconnects).toEqual([]);
    expect(rt.id).toBe(id);
    expect(channel.state).toBe('joined');
    const relayed = nextEvent<RelayedEnvelope>(observer, 'sdk-renewal', (e) => e.data.message === 'still here');
    await channel.send('still here');
    expect((await relayed).source.userId).toBe('sdk-user');
    expect([...joins, ...leaves].filter((e) => e.clientId === id)).toEqual([]);
  });

  it('every reconnection asks getToken() for a fresh token', async () => {
    const env = { AUTH_MODE: 'required', AUTH_JWT_SECRET: HS_SECRET, API_KEYS: `ops:${API_SECRET}` };
    const own = await startServerProcess({ nodeId: 'sdk-token-reconnect', env });
    let calls = 0;
    // Each call names its token's user after the call, so the member list shows which token the connection holds.
    const rt = client(own.url, () => {
      calls++;
      // Long-lived here: only (re)connections ask.
      return signToken(HS_SECRET, { sub: `reconnecting-${calls}` }, { expiresIn: 600 });
    });
    const channel = await rt.joinChannel('sdk-reconnect');
    expect(calls).toBe(1);
    const rejoined = new Promise<void>((resolve) => rt.once('rejoin', () => resolve()));
    // The node crashes and comes back on the same port: the SDK reconnects by itself (a DELETE would be a terminal REVOKED).
    own.signal('SIGKILL');
    await own.exited;
    const back = await startServerProcess({ nodeId: own.nodeId, env: { ...env, PORT: String(own.port) } });
    await rejoined;
    expect(channel.state).toBe('joined');
    // Every attempt asked again (one or more failed while the node was down), and the connection holds the last token.
    expect(calls).toBeGreaterThanOrEqual(2);
    const members = await fetch(`${back.url}/api/v1/channels/sdk-reconnect/members`, {
      headers: { Authorization: `Bearer ${API_SECRET}` },
    });
    const body = (await members.json()) as { members: { userId: string | null }[] };
    expect(body.members.map((m) => m.userId)).toEqual([`reconnecting-${calls}`]);
  });

  it('a getToken() that fails is retried with backoff before the expiry', async () => {
    let calls = 0;
    const rt = client(node.url, () => {
      calls++;
      // The handshake's call works, the first renewal's fails, its retry works.
      if (calls === 2) return Promise.reject(new Error('identity provider unreachable'));
      return shortToken('flaky');
    });
    const errors: RealtimeError[] = [];
    rt.on('token_error', (error) => errors.push(error));
    const refreshed = nextTokenEvent(rt, 'token_refresh');
    await rt.joinChannel('sdk-flaky');
    expect(typeof (await refreshed)).toBe('number');
    expect(calls).toBe(3);
    expect(errors).toEqual([]);
    expect(rt.connected).toBe(true);
  });

  it('a getToken() that keeps failing: token_error, then the server closes AUTH_EXPIRED and every membership is lost with it', async () => {
    let calls = 0;
    const rt = client(node.url, () => {
      calls++;
      return calls === 1 ? shortToken('doomed') : Promise.reject(new Error('signed out'));
    });
    const failed = nextTokenEvent(rt, 'token_error');
    const lost = new Promise<RealtimeError>((resolve) => rt.once('lost', (_membership, error) => resolve(error)));
    const channel = await rt.joinChannel('sdk-doomed');
    expect(await failed).toMatchObject({ message: expect.stringContaining('getToken() failed: signed out') });
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(await lost).toMatchObject({ code: 'AUTH_EXPIRED', retryable: false });
    expect(channel.state).toBe('lost');
    expect(rt.connected).toBe(false);
  });
});
