import { describe, expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  nextEvent,
  reconnected,
  registerTeardown,
  startCluster,
  startCuttableProxy,
  startRedisProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';
import { metric } from './support/node-metrics.js';
import { HS_SECRET, signToken } from './support/tokens.js';
import { redisEnv } from './support/redis-env.js';
import { startTestNode } from './support/start-test-node.js';
import { sessionIdOf } from '../src/recovery/session-id.js';

/**
 * Connection state recovery with plain socket.io-client (reconnection on):
 * a client whose network drops comes back, to the same node or another,
 * with `socket.recovered === true`, the same socket id, its channels and
 * rooms, and every message sent to them meanwhile, in order, once, before
 * new ones. The network drop is real: the client talks to its node through
 * a TCP proxy that the test cuts (every connection destroyed) and blocks
 * (reconnection attempts fail) for the length of the outage.
 */
const RECOVERY = { RECOVERY_WINDOW_MS: '120000', RATE_LIMIT_EVENTS_PER_SECOND: '0' };
const FAST_RECONNECT = { reconnection: true, reconnectionDelayMs: { first: 100, max: 300 } } as const;

/** Message texts of `event` a socket receives (across its reconnections), in order. */
function texts(socket: Socket, event: string): string[] {
  const seen: string[] = [];
  socket.on(event, (envelope: RelayedEnvelope) => seen.push(envelope.data.message));
  return seen;
}

/** Sends `n` messages to `channel`, each acknowledged (stored), while the test waits: `label-0` … */
async function publish(sender: Socket, channel: string, label: string, n: number): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < n; i++) {
    const message = `${label}-${i}`;
    expect(await emitWithAck(sender, channel, { data: { roomChannel: channel, message } })).toEqual({ ok: true });
    sent.push(message);
  }
  return sent;
}

describe.each(['standalone', 'sentinel', 'cluster'] as const)('session recovery, %s Redis', (topology) => {
  it('a client cut off for 1 s comes back through another node recovered: same id, same channel and room, every message once and in order', async () => {
    const nodes = await startCluster(3, { keyPrefix: uniqueKeyPrefix('recovery'), env: { ...(await redisEnv(topology)), ...RECOVERY } });
    const proxy = await startCuttableProxy(nodes[0]!.port);
    const client = await connectClient(proxy.url, FAST_RECONNECT);
    const sender = await connectClient(nodes[2]!.url);
    for (const s of [client, sender]) {
      expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: 'news' } })).toMatchObject({ ok: true });
      expect(await emitWithAck(s, 'join-room', { data: { roomChannel: 'news', roomId: 'r1' } })).toMatchObject({ ok: true });
    }
    const channelSeen = texts(client, 'news');
    const roomSeen = texts(client, 'notify-room');
    const before = await publish(sender, 'news', 'before', 5);
    await vi.waitFor(() => expect(channelSeen).toEqual(before));
    const id = client.id;
    const back = reconnected(client);
    const cut = proxy.outage(1000, nodes[1]!.port);
    // Sent while the client is away (acknowledged: stored).
    const during = await publish(sender, 'news', 'during', 10);
    const roomDuring: string[] = [];
    for (let i = 0; i < 3; i++) {
      const message = `room-${i}`;
      expect(await emitWithAck(sender, 'notify-room', { data: { roomChannel: 'news', roomId: 'r1', message } })).toEqual({ ok: true });
      roomDuring.push(message);
    }
    await cut;
    await back;
    expect(client.recovered).toBe(true);
    expect(client.id).toBe(id);
    const after = await publish(sender, 'news', 'after', 5);
    await vi.waitFor(() => expect(channelSeen).toHaveLength(before.length + during.length + after.length));
    expect(channelSeen).toEqual([...before, ...during, ...after]);
    expect(roomSeen).toEqual(roomDuring);
    // Still a member on the new node: its own message reaches the sender.
    const senderSeen = texts(sender, 'news');
    expect(await emitWithAck(client, 'news', { data: { roomChannel: 'news', message: 'from the recovered client' } })).toEqual({
      ok: true,
    });
    await vi.waitFor(() => expect(senderSeen).toContain('from the recovered client'));
    // The mechanism: node 1 saved the session, node 2 recovered it.
    expect(await metric(nodes[0]!, 'realtime_recoveries_total{outcome="saved"}')).toBe(1);
    expect(await metric(nodes[1]!, 'realtime_recoveries_total{outcome="recovered"}')).toBe(1);
  });
});

it('a long-polling client that joined without an ack (as the guide’s do) recovers the same way', async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const nodes = await startCluster(2, { keyPrefix: uniqueKeyPrefix('recovery-polling'), redisUrl: redis.url, env: RECOVERY });
  const proxy = await startCuttableProxy(nodes[0]!.port);
  // Polling only: no stickiness is needed behind this proxy, it goes to one node at a time.
  const client = await connectClient(proxy.url, { ...FAST_RECONNECT, transports: ['polling'] });
  const sender = await connectClient(nodes[1]!.url);
  const ownJoin = nextEvent<RelayedEnvelope>(client, 'join-channel', (e) => e.clientId === client.id);
  client.emit('join-channel', { data: { roomChannel: 'poll' } });
  await ownJoin;
  expect(await emitWithAck(sender, 'join-channel', { data: { roomChannel: 'poll' } })).toMatchObject({ ok: true });
  const seen = texts(client, 'poll');
  const before = await publish(sender, 'poll', 'before', 3);
  await vi.waitFor(() => expect(seen).toEqual(before));
  const id = client.id;
  const back = reconnected(client);
  const cut = proxy.outage(1000, nodes[1]!.port);
  const during = await publish(sender, 'poll', 'during', 5);
  await cut;
  await back;
  expect([client.recovered, client.id, client.io.engine.transport.name]).toEqual([true, id, 'polling']);
  const after = await publish(sender, 'poll', 'after', 2);
  await vi.waitFor(() => expect(seen).toEqual([...before, ...during, ...after]));
});

it('a single node without Redis recovers a client too (history and sessions in memory)', async () => {
  // No Redis, whatever the environment says.
  const [node] = await startCluster(1, {
    keyPrefix: uniqueKeyPrefix('recovery-memory'),
    env: { ...RECOVERY, REDIS_URL: '', REDIS_CLUSTER_NODES: '', REDIS_SENTINELS: '' },
  });
  const proxy = await startCuttableProxy(node!.port);
  const client = await connectClient(proxy.url, FAST_RECONNECT);
  const sender = await connectClient(node!.url);
  for (const s of [client, sender])
    expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: 'solo' } })).toMatchObject({ ok: true });
  const seen = texts(client, 'solo');
  const id = client.id;
  const back = reconnected(client);
  const cut = proxy.outage(500);
  const during = await publish(sender, 'solo', 'during', 5);
  await cut;
  await back;
  expect([client.recovered, client.id]).toEqual([true, id]);
  await vi.waitFor(() => expect(seen).toEqual(during));
});

it('a stolen session id with another user’s token is refused (FORBIDDEN), and the session stays its owner’s', async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const nodes = await startCluster(2, {
    keyPrefix: uniqueKeyPrefix('recovery-user'),
    redisUrl: redis.url,
    env: { ...RECOVERY, AUTH_MODE: 'required', AUTH_JWT_SECRET: HS_SECRET },
  });
  const tokenOf = (sub: string): Promise<string> => signToken(HS_SECRET, { sub });
  const proxy = await startCuttableProxy(nodes[0]!.port);
  const victim = await connectClient(proxy.url, { ...FAST_RECONNECT, auth: { token: await tokenOf('victim') } });
  const sender = await connectClient(nodes[1]!.url, { auth: { token: await tokenOf('sender') } });
  for (const s of [victim, sender])
    expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: 'mine' } })).toMatchObject({ ok: true });
  const seen = texts(victim, 'mine');
  await publish(sender, 'mine', 'before', 1);
  await vi.waitFor(() => expect(seen).toHaveLength(1));
  // What socket.io-client would send on reconnect (private fields, read here as an attacker who stole them would know them).
  const { _pid: pid, _lastOffset: offset } = victim as unknown as { _pid: string; _lastOffset: string };
  const back = reconnected(victim);
  proxy.block();
  proxy.cut();
  await vi.waitFor(async () => expect(await metric(nodes[0]!, 'realtime_recoveries_total{outcome="saved"}')).toBe(1));
  const refusal = await connectClient(nodes[1]!.url, { auth: { token: await tokenOf('attacker'), pid, offset } }).then(
    () => undefined,
    (err: Error & { data?: { code: string } }) => err.data?.code,
  );
  expect(refusal).toBe('FORBIDDEN');
  const during = await publish(sender, 'mine', 'during', 3);
  proxy.retarget(nodes[1]!.port);
  proxy.unblock();
  await back;
  expect(victim.recovered).toBe(true);
  await vi.waitFor(() => expect(seen).toEqual(['before-0', ...during]));
});

/**
 * Two nodes on a Redis of their own; a client behind a cuttable proxy to
 * node 1 and a sender on node 2, both in `channel`, the client having
 * received two messages (`before-0`, `before-1`).
 */
async function refusalRig(name: string, channel: string, env: Record<string, string> = {}) {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const nodes = await startCluster(2, { keyPrefix: uniqueKeyPrefix(name), redisUrl: redis.url, env: { ...RECOVERY, ...env } });
  const proxy = await startCuttableProxy(nodes[0]!.port);
  const client = await connectClient(proxy.url, FAST_RECONNECT);
  const sender = await connectClient(nodes[1]!.url);
  for (const s of [client, sender])
    expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: channel } })).toMatchObject({ ok: true });
  const seen = texts(client, channel);
  await publish(sender, channel, 'before', 2);
  await vi.waitFor(() => expect(seen).toHaveLength(2));
  return { redis, nodes, proxy, client, sender, seen, back: reconnected(client) };
}

it('the session id the server keeps a live connection under is the one its client holds and sends back (Socket.IO’s private pid)', async () => {
  const { node, url } = await startTestNode({ ...RECOVERY, REDIS_URL: '' });
  const client = await connectClient(url);
  const serverSocket = node.io.of('/').sockets.get(client.id!);
  expect(serverSocket).toBeDefined();
  const pid = sessionIdOf(serverSocket!);
  // socket.io-client keeps it as `_pid` and sends it back on reconnect; a change in either library fails here.
  expect(typeof pid).toBe('string');
  expect(pid).toBe((client as unknown as { _pid?: string })._pid);
});

it('a hostile session id or offset (huge, malformed) is never looked up: the connection starts empty, and the node serves on', async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const [node] = await startCluster(1, { keyPrefix: uniqueKeyPrefix('recovery-hostile'), redisUrl: redis.url, env: RECOVERY });
  const hostile = [
    { pid: 'p'.repeat(100_000), offset: 'o'.repeat(100_000) },
    { pid: '../../{s:x}', offset: '1' },
    { pid: 'AAAAAAAAAAAAAAAAAAAA', offset: 'x.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' },
  ];
  for (const auth of hostile) {
    const client = await connectClient(node!.url, { auth });
    expect(client.recovered).toBe(false);
    expect(await emitWithAck(client, 'join-channel', { data: { roomChannel: 'h' } })).toMatchObject({ ok: true });
  }
  // Only the well-formed id was looked up (and found nothing).
  expect(await metric(node!, 'realtime_recoveries_total{outcome="unknown"}')).toBe(1);
});

describe('session recovery: when it is impossible the client is told so, and starts empty', () => {
  it('back after the window: recovered === false, a new id, in no channel', async () => {
    const { nodes, proxy, client, sender, seen, back } = await refusalRig('recovery-window', 'w', { RECOVERY_WINDOW_MS: '1000' });
    const id = client.id;
    await proxy.outage(2500);
    await back;
    expect(client.recovered).toBe(false);
    expect(client.id).not.toBe(id);
    await publish(sender, 'w', 'after', 2);
    // Not a member any more: only a new join would bring messages.
    expect(await emitWithAck(client, 'w', { data: { roomChannel: 'w', message: 'x' } })).toMatchObject({
      ok: false,
      error: { code: 'NOT_A_MEMBER' },
    });
    expect(seen).toEqual(['before-0', 'before-1']);
    expect(await metric(nodes[0]!, 'realtime_recoveries_total{outcome="unknown"}')).toBe(1);
  });

  it('more broadcasts than RECOVERY_MAX_MESSAGES_PER_TOPIC meanwhile: recovered === false, and none of them replayed', async () => {
    const { proxy, client, sender, seen, back } = await refusalRig('recovery-cap', 'cap', { RECOVERY_MAX_MESSAGES_PER_TOPIC: '5' });
    const cut = proxy.outage(500);
    await publish(sender, 'cap', 'during', 8);
    await cut;
    await back;
    expect(client.recovered).toBe(false);
    expect(seen).toEqual(['before-0', 'before-1']);
  });

  it('Redis restarted empty during the disconnect: recovered === false, never a false true', async () => {
    const { redis, nodes, proxy, client, back } = await refusalRig('recovery-empty', 'e');
    proxy.block();
    proxy.cut();
    // The session was saved when node 1 saw the loss; then Redis loses everything.
    await vi.waitFor(async () => expect(await metric(nodes[0]!, 'realtime_recoveries_total{outcome="saved"}')).toBe(1));
    await redis.kill();
    await redis.start();
    proxy.unblock();
    await back;
    expect(client.recovered).toBe(false);
  });
});
