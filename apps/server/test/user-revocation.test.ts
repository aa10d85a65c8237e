import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SignJWT } from 'jose';
import type { Socket } from 'socket.io-client';
import { ErrorCode, type ServerClose } from '@realtime/protocol';
import { createRealtimeClient, type RealtimeError } from '@realtime/client';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  registerTeardown,
  startCluster,
  startRedisProcess,
  startServerProcess,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { redisEnv } from './support/redis-env.js';
import { HS_SECRET } from './support/tokens.js';
import { refusal, type ConnectRefusal } from './support/connect-refusal.js';
import { metric } from './support/node-metrics.js';

/**
 * Issue "trust", section 5: POST /api/v1/users/{userId}/disconnect closes
 * every connection of a user on every node with a terminal server-close
 * REVOKED, and with `revokeTokensIssuedBefore` the user's older tokens are
 * refused at the handshake on every node, also by nodes started after it.
 * DELETE /api/v1/connections/{clientId} closes one connection the same way.
 */
const SECRET = `sk-${randomBytes(12).toString('hex')}`;
const AUTH_ENV = { API_KEYS: `backend:${SECRET}`, AUTH_MODE: 'required', AUTH_JWT_SECRET: HS_SECRET };

const nowS = (): number => Math.floor(Date.now() / 1000);

/** A token for `sub` issued at `iatS` (no `iat` claim when null), valid for 10 minutes. */
async function tokenFor(sub: string, iatS: number | null = nowS() - 60): Promise<string> {
  let jwt = new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(nowS() + 600);
  if (iatS !== null) jwt = jwt.setIssuedAt(iatS);
  return jwt.sign(new TextEncoder().encode(HS_SECRET));
}

async function api(
  node: ServerProcess,
  method: 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  secret: string | null = SECRET,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const disconnectUser = (node: ServerProcess, userId: string, body?: unknown) =>
  api(node, 'POST', `/api/v1/users/${encodeURIComponent(userId)}/disconnect`, body);

/** What a plain socket.io-client saw of its close: the server-close (with when it came) and the disconnect reason. */
interface Watched {
  socket: Socket;
  closed: Promise<{ event: ServerClose; atMs: number }>;
  reason: Promise<string>;
}

function watch(socket: Socket): Watched {
  const closed = new Promise<{ event: ServerClose; atMs: number }>((resolve) =>
    socket.once('server-close', (event: ServerClose) => resolve({ event, atMs: performance.now() })),
  );
  const reason = new Promise<string>((resolve) => socket.once('disconnect', (r) => resolve(r)));
  return { socket, closed, reason };
}

/** A user's connection with reconnection on, so that "does not reconnect" is socket.io-client's own decision. */
async function connectAs(node: ServerProcess, userId: string, iatS?: number | null, transport?: 'websocket' | 'polling'): Promise<Watched> {
  const token = await tokenFor(userId, iatS);
  return watch(
    await connectClient(node.url, { auth: { token }, reconnection: true, ...(transport === undefined ? {} : { transports: [transport] }) }),
  );
}

/** What a handshake with `token` is refused with. */
const refusedWith = (node: ServerProcess, token: string): Promise<ConnectRefusal> => refusal(connectClient(node.url, { auth: { token } }));

async function expectTerminalRevoked(client: Watched, requestedAtMs: number): Promise<void> {
  const { event, atMs } = await client.closed;
  expect(event).toEqual({ code: ErrorCode.REVOKED, message: expect.stringContaining('REVOKED') as string, retry: false });
  expect(atMs - requestedAtMs).toBeLessThan(1000);
  expect(await client.reason).toBe('io server disconnect');
  // socket.io-client's rule: after a server-side disconnect it is inactive and schedules no reconnection.
  expect(client.socket.active).toBe(false);
}

const TOPOLOGIES = [
  { redis: 'standalone', adapter: 'classic' },
  { redis: 'standalone', adapter: 'sharded' },
  { redis: 'cluster', adapter: 'sharded' },
] as const;

describe.each(TOPOLOGIES)('three nodes on $redis Redis, $adapter adapter', ({ redis, adapter }) => {
  let nodes: ServerProcess[];
  let env: Record<string, string>;
  beforeAll(async () => {
    env = { ...AUTH_ENV, ADAPTER_MODE: adapter, REDIS_KEY_PREFIX: uniqueKeyPrefix('revoke'), ...(await redisEnv(redis)) };
    nodes = await startCluster(3, { env });
  });

  it("a POST on node 1 closes each of the user's connections on every node with REVOKED within 1 s; they stay closed; the other user is untouched", async () => {
    const alice: Watched[] = [];
    // One WebSocket and one long-polling connection on each node.
    for (const node of nodes)
      for (const transport of ['websocket', 'polling'] as const) alice.push(await connectAs(node, 'alice', undefined, transport));
    const bob = await Promise.all(nodes.map((node) => connectAs(node, 'bob')));
    const sdk = createRealtimeClient(nodes[2]!.url, { auth: { token: await tokenFor('alice') }, reconnectionDelayMs: 50 });
    registerTeardown(() => sdk.close());
    const channel = await sdk.joinChannel('alice-news');
    const lost = new Promise<RealtimeError>((resolve) => sdk.once('lost', (_m, error) => resolve(error)));

    const requestedAtMs = performance.now();
    const answer = await disconnectUser(nodes[0]!, 'alice');
    expect(answer).toEqual({ status: 200, body: { ok: true, disconnected: 7 } });
    for (const client of alice) await expectTerminalRevoked(client, requestedAtMs);
    expect(await lost).toMatchObject({ code: ErrorCode.REVOKED, retryable: false });
    expect(channel.state).toBe('lost');
    expect(sdk.connected).toBe(false);
    await expect(sdk.joinChannel('again')).rejects.toMatchObject({ code: ErrorCode.REVOKED });

    // Bob's connections are open and work, with and without an ack.
    for (const client of bob) {
      expect(client.socket.connected).toBe(true);
      const ack = await emitWithAck(client.socket, 'join-channel', guideEnvelope({ roomChannel: 'bob-room' }, client.socket));
      expect(ack.ok).toBe(true);
      client.socket.emit('leave-channel', guideEnvelope({ roomChannel: 'bob-room' }, client.socket));
    }
    // Nothing of Alice's came back: each node counts only Bob's connection (and its REVOKED closes).
    const closes = await Promise.all(nodes.map((node) => metric(node, 'realtime_server_closes_total{code="REVOKED"}')));
    expect(closes.reduce((a, b) => a + b, 0)).toBe(7);
    for (const node of nodes) expect(await metric(node, 'realtime_connected_sockets')).toBe(1);
    // A user with no connection: 0, not an error.
    expect(await disconnectUser(nodes[1]!, 'nobody')).toEqual({ status: 200, body: { ok: true, disconnected: 0 } });
  });

  it('revokeTokensIssuedBefore: older tokens and tokens without iat are refused REVOKED on every node, also by a restarted node; newer ones pass', async () => {
    const revokedAtS = nowS() - 10;
    const old = await tokenFor('carol', revokedAtS - 50);
    const live = await connectAs(nodes[1]!, 'carol', revokedAtS - 50);
    const requestedAtMs = performance.now();
    expect(await disconnectUser(nodes[0]!, 'carol', { revokeTokensIssuedBefore: revokedAtS })).toEqual({
      status: 200,
      body: { ok: true, disconnected: 1 },
    });
    await expectTerminalRevoked(live, requestedAtMs);

    const before = await metric(nodes[2]!, 'realtime_auth_refusals_total{code="REVOKED"}');
    for (const node of nodes) {
      const refused = await refusedWith(node, old);
      expect(refused.message).toBe('REVOKED');
      expect(refused.data).toEqual({ code: 'REVOKED', message: expect.stringContaining('revoked') as string });
      expect((await refusedWith(node, await tokenFor('carol', null))).message).toBe('REVOKED');
    }
    expect(await metric(nodes[2]!, 'realtime_auth_refusals_total{code="REVOKED"}')).toBe(before + 2);
    // Issued at the revocation time or after: accepted. Another user's old token: accepted.
    (await connectAs(nodes[2]!, 'carol', revokedAtS)).socket.disconnect();
    (await connectAs(nodes[2]!, 'dave', revokedAtS - 50)).socket.disconnect();

    // A later call with an earlier time does not un-revoke.
    expect(await disconnectUser(nodes[1]!, 'carol', { revokeTokensIssuedBefore: revokedAtS - 3600 })).toEqual({
      status: 200,
      body: { ok: true, disconnected: 0 },
    });
    expect((await refusedWith(nodes[1]!, old)).message).toBe('REVOKED');
    expect((await refusedWith(nodes[1]!, await tokenFor('carol', revokedAtS - 1))).message).toBe('REVOKED');

    // A restarted node (a new process, no memory of the broadcast) reads it from Redis.
    await nodes[2]!.stop();
    const restarted = await startServerProcess({ nodeId: 'node-3', env });
    expect((await refusedWith(restarted, old)).message).toBe('REVOKED');
    expect((await refusedWith(restarted, await tokenFor('carol', null))).message).toBe('REVOKED');
    (await connectAs(restarted, 'carol', nowS())).socket.disconnect();
  });

  it('DELETE /api/v1/connections/{clientId} on node 1 closes a connection on node 2 with REVOKED: neither socket.io-client nor the SDK reconnects', async () => {
    const plain = await connectAs(nodes[1]!, 'erin');
    const requestedAtMs = performance.now();
    expect(await api(nodes[0]!, 'DELETE', `/api/v1/connections/${plain.socket.id!}`)).toEqual({ status: 200, body: { ok: true } });
    await expectTerminalRevoked(plain, requestedAtMs);

    const sdk = createRealtimeClient(nodes[1]!.url, { auth: { token: await tokenFor('erin') }, reconnectionDelayMs: 50 });
    registerTeardown(() => sdk.close());
    const room = await sdk.joinRoom('erin-channel', 'r1');
    const lost = new Promise<RealtimeError>((resolve) => sdk.once('lost', (_m, error) => resolve(error)));
    const disconnected = new Promise<string>((resolve) => sdk.once('disconnect', resolve));
    expect(await api(nodes[0]!, 'DELETE', `/api/v1/connections/${sdk.id!}`)).toEqual({ status: 200, body: { ok: true } });
    expect(await lost).toMatchObject({ code: ErrorCode.REVOKED, retryable: false });
    expect(await disconnected).toBe('io server disconnect');
    expect(room.state).toBe('lost');
    await expect(sdk.joinChannel('again')).rejects.toMatchObject({ code: ErrorCode.REVOKED });
    expect(sdk.connected).toBe(false);
    await vi.waitFor(async () => expect(await metric(nodes[1]!, 'realtime_connected_sockets')).toBe(0));
    // Gone: no node has it any more.
    expect(await api(nodes[1]!, 'DELETE', `/api/v1/connections/${plain.socket.id ?? 'gone'}x`)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });
});

describe('one node without Redis', () => {
  let node: ServerProcess;
  beforeAll(async () => {
    node = await startServerProcess({ nodeId: 'revoke-embedded', env: { ...AUTH_ENV, AUTH_MAX_TOKEN_LIFETIME_S: '3600' } });
  });

  it('closes the user locally and keeps its revocation in memory', async () => {
    const clients = [await connectAs(node, 'frank'), await connectAs(node, 'frank')];
    const requestedAtMs = performance.now();
    expect(await disconnectUser(node, 'frank', { revokeTokensIssuedBefore: nowS() })).toEqual({
      status: 200,
      body: { ok: true, disconnected: 2 },
    });
    for (const client of clients) await expectTerminalRevoked(client, requestedAtMs);
    expect((await refusedWith(node, await tokenFor('frank'))).message).toBe('REVOKED');
    (await connectAs(node, 'frank', nowS())).socket.disconnect();
  });

  it('an auth-refresh with a revoked token is refused REVOKED and ends the connection (terminal), with and without an ack', async () => {
    const revokedBeforeS = nowS() - 30;
    expect(await disconnectUser(node, 'heidi', { revokeTokensIssuedBefore: revokedBeforeS })).toEqual({
      status: 200,
      body: { ok: true, disconnected: 0 },
    });
    // Connected with tokens issued after the revocation: accepted.
    const acked = await connectAs(node, 'heidi', revokedBeforeS + 1);
    const unacked = await connectAs(node, 'heidi', revokedBeforeS + 1);
    const old = await tokenFor('heidi', revokedBeforeS - 3600);
    const requestedAtMs = performance.now();
    expect(await emitWithAck(acked.socket, 'auth-refresh', { token: old })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.REVOKED },
    });
    unacked.socket.emit('auth-refresh', { token: old });
    for (const client of [acked, unacked]) {
      const { event, atMs } = await client.closed;
      expect(event).toMatchObject({ code: ErrorCode.REVOKED, retry: false });
      expect(atMs - requestedAtMs).toBeLessThan(1000);
      expect(await client.reason).toBe('io server disconnect');
      expect(client.socket.active).toBe(false);
    }
    // A refresh with a token issued after the revocation is what a live connection should send.
    const live = await connectAs(node, 'heidi', revokedBeforeS + 1);
    expect(await emitWithAck(live.socket, 'auth-refresh', { token: await tokenFor('heidi', nowS()) })).toMatchObject({ ok: true });
    expect(live.socket.connected).toBe(true);
    live.socket.disconnect();
  });

  it('refuses bad bodies and ids with 400 INVALID_PAYLOAD and a call without the API key with 401, closing nothing', async () => {
    const client = await connectAs(node, 'grace');
    for (const body of [
      { revokeTokensIssuedBefore: 1.5 },
      { revokeTokensIssuedBefore: '1700000000' },
      { revokeTokensIssuedBefore: -1 },
      { revokeTokensIssuedBefore: null },
      { revokeTokensIssuedBefore: Date.now() },
      { revokeTokensIssuedBefore: nowS(), reason: 'x' },
      [],
      'not json',
    ]) {
      expect(await disconnectUser(node, 'grace', body), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_PAYLOAD' } },
      });
    }
    expect(await disconnectUser(node, 'g'.repeat(257))).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PAYLOAD' } } });
    const anonymous = await api(node, 'POST', '/api/v1/users/grace/disconnect', {}, null);
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(client.socket.connected).toBe(true);
    // No body at all, or an empty object: a plain disconnect.
    expect(await disconnectUser(node, 'grace')).toEqual({ status: 200, body: { ok: true, disconnected: 1 } });
    expect((await client.closed).event.code).toBe(ErrorCode.REVOKED);
    expect(await disconnectUser(node, 'grace', {})).toEqual({ status: 200, body: { ok: true, disconnected: 0 } });
  });

  it('warns, at most once a minute and without the token, about tokens that outlive AUTH_MAX_TOKEN_LIFETIME_S', async () => {
    const sign = (lifetimeS: number | null): Promise<string> => {
      const jwt = new SignJWT({ sub: 'heidi' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS());
      return (lifetimeS === null ? jwt : jwt.setExpirationTime(nowS() + lifetimeS)).sign(new TextEncoder().encode(HS_SECRET));
    };
    const warnings = () => node.logs.filter((l) => l.event === 'token-outlives-revocations');
    const fine = await sign(3000);
    (await connectClient(node.url, { auth: { token: fine } })).disconnect();
    expect(warnings()).toEqual([]);
    const long = await sign(7200);
    (await connectClient(node.url, { auth: { token: long } })).disconnect();
    await vi.waitFor(() => expect(warnings()).toHaveLength(1));
    expect(warnings()[0]).toMatchObject({ level: 40, lifetimeS: 7200, maxTokenLifetimeS: 3600 });
    const forever = await sign(null);
    (await connectClient(node.url, { auth: { token: forever } })).disconnect();
    // The second one inside the minute is counted into the next line, not logged.
    const marker = await connectClient(node.url, { auth: { token: fine } });
    marker.disconnect();
    expect(warnings()).toHaveLength(1);
    for (const token of [fine, long, forever]) expect(JSON.stringify(node.logs)).not.toContain(token);
  });
});

describe('while Redis cannot be read', () => {
  it('a handshake fails open with a warning and a metric, but still refuses what the node remembers', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const node = await startServerProcess({
      nodeId: 'revoke-outage',
      redisUrl: redis.url,
      keyPrefix: uniqueKeyPrefix('revoke'),
      env: AUTH_ENV,
    });
    expect(await disconnectUser(node, 'ivan', { revokeTokensIssuedBefore: nowS() })).toEqual({
      status: 200,
      body: { ok: true, disconnected: 0 },
    });
    await redis.kill();
    await vi.waitFor(async () => expect((await fetch(`${node.url}/readyz`)).status).toBe(503));
    // Remembered by this node: still refused. Anyone else: let in (fail open), counted and logged.
    expect((await refusedWith(node, await tokenFor('ivan'))).message).toBe('REVOKED');
    (await connectAs(node, 'judy')).socket.disconnect();
    expect(await metric(node, 'realtime_revocation_read_failures_total')).toBeGreaterThanOrEqual(2);
    await vi.waitFor(() => expect(node.logs.some((l) => l.event === 'revocation-read-failed' && l.level === 40)).toBe(true));
    // Revoking now cannot be stored: 503, and this node's connections are closed regardless.
    const judy = await connectAs(node, 'judy');
    const requestedAtMs = performance.now();
    expect(await disconnectUser(node, 'judy', { revokeTokensIssuedBefore: nowS() })).toMatchObject({
      status: 503,
      body: { error: { code: 'UNAVAILABLE' } },
    });
    await expectTerminalRevoked(judy, requestedAtMs);
    expect((await refusedWith(node, await tokenFor('judy'))).message).toBe('REVOKED');
  });
});

describe.each(['classic', 'sharded'] as const)('a node that does not answer (%s adapter)', (adapter) => {
  it('does not hang the call: the answer counts the nodes that answered, and the silent node closes its own once it reads the request', async () => {
    const env = { ...AUTH_ENV, ADAPTER_MODE: adapter, REDIS_KEY_PREFIX: uniqueKeyPrefix('revoke'), ...(await redisEnv('standalone')) };
    const [answering, silent] = await startCluster(2, { env });
    const here = await connectAs(answering!, 'kim');
    const there = await connectAs(silent!, 'kim');
    // Stopped, its Redis connections stay open: it is still counted as a node, and never answers.
    silent!.signal('SIGSTOP');
    registerTeardown(() => silent!.signal('SIGCONT'));
    const requestedAtMs = performance.now();
    const answer = await disconnectUser(answering!, 'kim');
    const tookMs = performance.now() - requestedAtMs;
    expect(answer).toEqual({ status: 200, body: { ok: true, disconnected: 1 } });
    expect(tookMs).toBeLessThan(7000);
    await expectTerminalRevoked(here, requestedAtMs);
    await vi.waitFor(() => expect(answering!.logs.some((l) => l.event === 'revocation-incomplete' && l.level === 40)).toBe(true));
    silent!.signal('SIGCONT');
    expect((await there.closed).event.code).toBe(ErrorCode.REVOKED);
    expect(await there.reason).toBe('io server disconnect');
  });
});
