import { beforeAll, describe, expect, it, vi } from 'vitest';
import { io } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  registerTeardown,
  startServerProcess,
  type ServerProcess,
  type Transport,
} from '@realtime/testing';
import { HS_SECRET, ecKeyPair, edKeyPair, rsaKeyPair, signToken, unsignedToken, type KeyPair } from './support/tokens.js';
import { refusal } from './support/connect-refusal.js';
import { metric } from './support/node-metrics.js';

/**
 * Connection authentication (trust issue, section 1) on real node processes
 * with real socket.io-client clients: the token in `auth: { token }` or an
 * `Authorization: Bearer` header, refusals as `connect_error` with the code
 * as `message` and `{ code, message }` as `data`, and one Engine.IO session
 * per refused client, counted at the server.
 */

const ISSUER = 'https://idp.test/';
const API_SECRET = '0123456789abcdef0123';

interface MembersPage {
  members: { clientId: string; userId: string | null; source: Record<string, string> }[];
}

async function members(node: ServerProcess, path: string): Promise<MembersPage> {
  const response = await fetch(`${node.url}/api/v1/channels/${path}/members`, { headers: { authorization: `Bearer ${API_SECRET}` } });
  return (await response.json()) as MembersPage;
}
const AUDIENCE = 'realtime-tests';

/** What a refused connect rejects with. */

describe('AUTH_MODE=required with AUTH_JWT_SECRET, AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE', () => {
  let node: ServerProcess;
  beforeAll(async () => {
    node = await startServerProcess({
      nodeId: 'auth-hs',
      env: { AUTH_MODE: 'required', AUTH_JWT_SECRET: HS_SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE },
    });
  }, 30_000);

  const good = (claims: Record<string, unknown> = {}, alg = 'HS256') =>
    signToken(HS_SECRET, { sub: 'user-1', ...claims }, { alg, issuer: ISSUER, audience: AUDIENCE });

  it.each(['websocket', 'polling'] as Transport[])('accepts a valid token in auth: { token } (%s)', async (transport) => {
    const client = await connectClient(node.url, { transports: [transport], auth: { token: await good() } });
    expect(client.connected).toBe(true);
  });

  it.each(['websocket', 'polling'] as Transport[])('accepts a valid token in an Authorization: Bearer header (%s)', async (transport) => {
    const client = await connectClient(node.url, { transports: [transport], extraHeaders: { Authorization: `Bearer ${await good()}` } });
    expect(client.connected).toBe(true);
  });

  it.each(['HS384', 'HS512'])('accepts %s', async (alg) => {
    expect((await connectClient(node.url, { auth: { token: await good({}, alg) } })).connected).toBe(true);
  });

  it('refuses a connection without a token: AUTH_REQUIRED, as message and as data', async () => {
    const err = await refusal(connectClient(node.url));
    expect(err.message).toBe('AUTH_REQUIRED');
    expect(err.data).toEqual({ code: 'AUTH_REQUIRED', message: expect.stringContaining('token') });
  });

  it('refuses an expired token with AUTH_EXPIRED, and accepts one expired less than the 30 s clock tolerance ago', async () => {
    const expired = await signToken(HS_SECRET, { sub: 'u' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: -60 });
    expect(await refusal(connectClient(node.url, { auth: { token: expired } }))).toMatchObject({
      message: 'AUTH_EXPIRED',
      data: { code: 'AUTH_EXPIRED' },
    });
    const withinTolerance = await signToken(HS_SECRET, { sub: 'u' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: -10 });
    expect((await connectClient(node.url, { auth: { token: withinTolerance } })).connected).toBe(true);
  });

  it.each([
    ['a wrong issuer', () => signToken(HS_SECRET, { sub: 'u' }, { issuer: 'https://evil.test/', audience: AUDIENCE })],
    ['no issuer', () => signToken(HS_SECRET, { sub: 'u' }, { audience: AUDIENCE })],
    ['a wrong audience', () => signToken(HS_SECRET, { sub: 'u' }, { issuer: ISSUER, audience: 'another-app' })],
    ['a wrong secret', () => signToken(`${HS_SECRET}-not`, { sub: 'u' }, { issuer: ISSUER, audience: AUDIENCE })],
    ['alg none', () => Promise.resolve(unsignedToken({ sub: 'u', iss: ISSUER, aud: AUDIENCE }))],
    [
      'an RS256 token (no public key configured)',
      () => signToken(rsaKeyPair().privateKey, { sub: 'u' }, { alg: 'RS256', issuer: ISSUER, audience: AUDIENCE }),
    ],
    ['no sub', () => signToken(HS_SECRET, {}, { issuer: ISSUER, audience: AUDIENCE })],
    [
      'a channels claim that is not grants',
      () => signToken(HS_SECRET, { sub: 'u', channels: ['chat'] }, { issuer: ISSUER, audience: AUDIENCE }),
    ],
    ['garbage', () => Promise.resolve('not.a.jwt')],
  ])('refuses a token with %s: AUTH_INVALID', async (_, make) => {
    const err = await refusal(connectClient(node.url, { auth: { token: await make() } }));
    expect(err).toMatchObject({ message: 'AUTH_INVALID', data: { code: 'AUTH_INVALID', message: expect.any(String) } });
  });

  it.each(['websocket', 'polling'] as Transport[])(
    'a socket.io-client with a bad token and reconnection on costs one Engine.IO session, not a reconnect storm (%s)',
    async (transport) => {
      const opened = await metric(node, 'realtime_engine_sessions_opened_total');
      const refused = await metric(node, 'realtime_auth_refusals_total{code="AUTH_INVALID"}');
      // socket.io-client's defaults: reconnection on, 1 s first delay.
      const client = io(node.url, { transports: [transport], forceNew: true, auth: { token: 'bad.token.here' }, reconnectionDelay: 100 });
      registerTeardown(() => client.disconnect());
      const errors: string[] = [];
      client.on('connect_error', (err) => errors.push(err.message));
      await vi.waitFor(() => expect(errors).toEqual(['AUTH_INVALID']));
      // Long enough for several reconnection attempts, were any made.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(errors).toEqual(['AUTH_INVALID']);
      expect(client.active).toBe(false);
      expect(await metric(node, 'realtime_engine_sessions_opened_total')).toBe(opened + 1);
      expect(await metric(node, 'realtime_auth_refusals_total{code="AUTH_INVALID"}')).toBe(refused + 1);
    },
  );
});

describe('AUTH_JWT_PUBLIC_KEY: the algorithm is fixed by the key type', () => {
  const rsa = rsaKeyPair();
  const ec = ecKeyPair();
  const ed = edKeyPair();
  const nodes = new Map<string, ServerProcess>();
  beforeAll(async () => {
    const start = async (name: string, key: KeyPair, extra: Record<string, string> = {}) =>
      nodes.set(
        name,
        await startServerProcess({ nodeId: `auth-${name}`, env: { AUTH_MODE: 'required', AUTH_JWT_PUBLIC_KEY: key.pem, ...extra } }),
      );
    // The RSA node also has a secret: both sources at once, each verifying its own family.
    await Promise.all([start('rsa', rsa, { AUTH_JWT_SECRET: HS_SECRET }), start('ec', ec), start('ed', ed)]);
  }, 30_000);

  it.each(['RS256', 'RS512', 'PS256'])('an RSA key verifies %s', async (alg) => {
    const token = await signToken(rsa.privateKey, { sub: 'u' }, { alg });
    expect((await connectClient(nodes.get('rsa')!.url, { auth: { token } })).connected).toBe(true);
  });

  it('with a secret set too, HS256 tokens verify against the secret', async () => {
    const token = await signToken(HS_SECRET, { sub: 'u' });
    expect((await connectClient(nodes.get('rsa')!.url, { auth: { token } })).connected).toBe(true);
  });

  it('an EC P-256 key verifies ES256 and an Ed25519 key EdDSA', async () => {
    const es = await signToken(ec.privateKey, { sub: 'u' }, { alg: 'ES256' });
    expect((await connectClient(nodes.get('ec')!.url, { auth: { token: es } })).connected).toBe(true);
    const eddsa = await signToken(ed.privateKey, { sub: 'u' }, { alg: 'EdDSA' });
    expect((await connectClient(nodes.get('ed')!.url, { auth: { token: eddsa } })).connected).toBe(true);
  });

  it.each([
    ['rsa', 'HS256 signed with the public key as the HMAC secret', () => signToken(rsa.pem, { sub: 'u' }, { alg: 'HS256' })],
    ['ec', 'HS256 signed with the public key as the HMAC secret', () => signToken(ec.pem, { sub: 'u' }, { alg: 'HS256' })],
    ['ec', 'a token of another key of the same type', () => signToken(ecKeyPair().privateKey, { sub: 'u' }, { alg: 'ES256' })],
    ['ec', 'ES384 (not the curve of the key)', () => signToken(ecKeyPair('P-384').privateKey, { sub: 'u' }, { alg: 'ES384' })],
    ['rsa', 'an RS256 token of another key', () => signToken(rsaKeyPair().privateKey, { sub: 'u' }, { alg: 'RS256' })],
    ['ed', 'alg none', () => Promise.resolve(unsignedToken({ sub: 'u' }))],
  ])('the %s node refuses %s: AUTH_INVALID', async (name, _, make) => {
    const err = await refusal(connectClient(nodes.get(name)!.url, { auth: { token: await make() } }));
    expect(err).toMatchObject({ message: 'AUTH_INVALID', data: { code: 'AUTH_INVALID' } });
  });
});

describe('AUTH_MODE=optional', () => {
  let node: ServerProcess;
  beforeAll(async () => {
    node = await startServerProcess({
      nodeId: 'auth-optional',
      env: { AUTH_MODE: 'optional', AUTH_JWT_SECRET: HS_SECRET, API_KEYS: `tests:${API_SECRET}` },
    });
  }, 30_000);

  it('a connection without a token is anonymous: no source.userId, even when it sends one', async () => {
    const client = await connectClient(node.url);
    const envelope = guideEnvelope({ roomChannel: 'optional-anon' }, client);
    envelope.source = { ...envelope.source, userId: 'i-am-admin' } as typeof envelope.source;
    expect(await emitWithAck(client, 'join-channel', envelope)).toMatchObject({ ok: true });
    const seen = nextEvent<RelayedEnvelope>(client, 'optional-anon');
    client.emit('optional-anon', { ...envelope, data: { ...envelope.data, message: 'hi' } });
    const relayed = await seen;
    expect(relayed.source.userId).toBeUndefined();
    expect(relayed.source.userName).toBe('Test User');
  });

  it('a connection with a bad token is refused, as in required mode', async () => {
    expect(await refusal(connectClient(node.url, { auth: { token: 'bad' } }))).toMatchObject({ message: 'AUTH_INVALID' });
    const expired = await signToken(HS_SECRET, { sub: 'u' }, { expiresIn: -120 });
    expect(await refusal(connectClient(node.url, { auth: { token: expired } }))).toMatchObject({ message: 'AUTH_EXPIRED' });
  });

  it('a token that is not a string, or a Bearer header without a token, is refused too; another scheme is ignored', async () => {
    expect(await refusal(connectClient(node.url, { auth: { token: 42 } }))).toMatchObject({ message: 'AUTH_INVALID' });
    expect(await refusal(connectClient(node.url, { extraHeaders: { Authorization: 'Bearer' } }))).toMatchObject({
      message: 'AUTH_INVALID',
    });
    expect((await connectClient(node.url, { extraHeaders: { Authorization: 'Basic dXNlcjpwYXNz' } })).connected).toBe(true);
  });

  it("a token's sub becomes source.userId and its name claim source.userName, whatever the client writes", async () => {
    const token = await signToken(HS_SECRET, { sub: 'user-42', name: 'Verified Name' });
    const client = await connectClient(node.url, { auth: { token } });
    const envelope = guideEnvelope({ roomChannel: 'optional-identity' }, client, 'Claimed Name');
    envelope.source = { ...envelope.source, userId: 'someone-else' } as typeof envelope.source;
    const joined = nextEvent<RelayedEnvelope>(client, 'join-channel');
    client.emit('join-channel', envelope);
    expect((await joined).source).toMatchObject({ userId: 'user-42', userName: 'Verified Name', clientId: client.id });
    const seen = nextEvent<RelayedEnvelope>(client, 'optional-identity');
    client.emit('optional-identity', { ...envelope, data: { ...envelope.data, message: 'hi' } });
    const relayed = await seen;
    expect(relayed.source).toMatchObject({ userId: 'user-42', userName: 'Verified Name', clientId: client.id, platform: 'web' });
    expect(relayed.clientId).toBe(client.id);
  });

  it("the HTTP API's member lists show each member's userId (null when anonymous), in channels and rooms", async () => {
    const user = await connectClient(node.url, { auth: { token: await signToken(HS_SECRET, { sub: 'listed-user', name: 'Listed' }) } });
    const anonymous = await connectClient(node.url);
    for (const socket of [user, anonymous]) {
      const envelope = guideEnvelope({ roomChannel: 'optional-members' }, socket);
      envelope.source = { ...envelope.source, userId: 'forged' } as typeof envelope.source;
      expect(await emitWithAck(socket, 'join-channel', envelope)).toMatchObject({ ok: true });
      expect(await emitWithAck(socket, 'join-room', { ...envelope, data: { ...envelope.data, roomId: 'r' } })).toMatchObject({ ok: true });
    }
    for (const path of ['optional-members', 'optional-members/rooms/r']) {
      const page = await members(node, path);
      expect(page.members).toHaveLength(2);
      expect(page.members.find((m) => m.clientId === user.id)).toMatchObject({
        userId: 'listed-user',
        source: { userId: 'listed-user', userName: 'Listed' },
      });
      expect(page.members.find((m) => m.clientId === anonymous.id)).toMatchObject({ userId: null });
      expect(page.members.find((m) => m.clientId === anonymous.id)?.source.userId).toBeUndefined();
    }
  });

  it('without the name claim, the client-sent userName stays', async () => {
    const client = await connectClient(node.url, { auth: { token: await signToken(HS_SECRET, { sub: 'user-43' }) } });
    const envelope = guideEnvelope({ roomChannel: 'optional-no-name' }, client, 'Own Name');
    const joined = nextEvent<RelayedEnvelope>(client, 'join-channel');
    client.emit('join-channel', envelope);
    expect((await joined).source).toMatchObject({ userId: 'user-43', userName: 'Own Name' });
  });
});

describe('AUTH_MODE=off (the default)', () => {
  let node: ServerProcess;
  beforeAll(async () => {
    node = await startServerProcess({ nodeId: 'auth-off', env: { API_KEYS: 'tests:0123456789abcdef0123' } });
  }, 30_000);

  it('ignores tokens and strips a client-sent source.userId, from relays and from member lists', async () => {
    const client = await connectClient(node.url, { auth: { token: 'whatever' } });
    const envelope = guideEnvelope({ roomChannel: 'off-strip' }, client);
    envelope.source = { ...envelope.source, userId: 'forged' } as typeof envelope.source;
    const joined = nextEvent<RelayedEnvelope>(client, 'join-channel');
    client.emit('join-channel', envelope);
    expect((await joined).source.userId).toBeUndefined();
    const page = (await (
      await fetch(`${node.url}/api/v1/channels/off-strip/members`, { headers: { authorization: 'Bearer 0123456789abcdef0123' } })
    ).json()) as { members: { clientId: string; userId: string | null; source: Record<string, string> }[] };
    expect(page.members).toEqual([expect.objectContaining({ clientId: client.id, userId: null })]);
    expect(page.members[0]?.source.userId).toBeUndefined();
  });
});
