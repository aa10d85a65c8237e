import { describe, expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { OnlineUsersEnvelope, RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  nextEvent,
  reconnected,
  startCluster,
  startCuttableProxy,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { metric } from './support/node-metrics.js';
import { redisEnv, type RedisTopologyName } from './support/redis-env.js';

/**
 * PRESENCE_GRACE_MS: a connection lost abruptly stays a member (counted, no
 * `leave-*`) for the grace. Recovered within it, to any node, nobody sees
 * anything; not back in time, its `leave-*` comes once, after the grace.
 * Explicit leaves, client disconnects and refused recoveries are announced
 * at once. The loss is real: the client talks to its node through a TCP
 * proxy that the test cuts and blocks.
 */
const FAST_RECONNECT = { reconnection: true, reconnectionDelayMs: { first: 100, max: 300 } } as const;

/** The presence events a watcher receives about one connection, in order, as `leave-channel`, `join-room`, … */
function presenceOf(watcher: Socket, clientId: () => string | undefined): string[] {
  const seen: string[] = [];
  for (const event of ['join-channel', 'leave-channel', 'join-room', 'leave-room']) {
    watcher.on(event, (envelope: RelayedEnvelope) => {
      if (envelope.clientId === clientId()) seen.push(event);
    });
  }
  return seen;
}

async function join(socket: Socket, channel: string, roomId?: string): Promise<number> {
  const ack = await emitWithAck<{ onlineUsers: number }>(socket, roomId === undefined ? 'join-channel' : 'join-room', {
    data: { roomChannel: channel, ...(roomId === undefined ? {} : { roomId }) },
  });
  expect(ack).toMatchObject({ ok: true });
  return (ack as { onlineUsers: number }).onlineUsers;
}

/** Joins `client` to the channel and waits until `watcher` and the joiner itself saw it join (join events travel after the ack). */
async function joinSeen(client: Socket, watcher: Socket, channel: string, roomId?: string): Promise<void> {
  const event = roomId === undefined ? 'join-channel' : 'join-room';
  const seen = [watcher, client].map((socket) =>
    nextEvent<RelayedEnvelope>(socket, event, (e) => e.clientId === client.id && e.data.roomChannel === channel),
  );
  await join(client, channel, roomId);
  await Promise.all(seen);
}

/** The channel's cluster-wide count as a new member's join sees it (the newcomer included), then it leaves. */
async function countWithProbe(node: ServerProcess, channel: string): Promise<number> {
  const probe = await connectClient(node.url);
  const count = await join(probe, channel);
  probe.disconnect();
  return count;
}

async function graceNodes(count: number, topology: RedisTopologyName, env: Record<string, string>): Promise<ServerProcess[]> {
  return startCluster(count, {
    keyPrefix: uniqueKeyPrefix('grace'),
    env: { ...(await redisEnv(topology)), RECOVERY_WINDOW_MS: '120000', RATE_LIMIT_EVENTS_PER_SECOND: '0', ...env },
  });
}

describe.each(['standalone', 'sentinel', 'cluster'] as const)('presence grace, %s Redis', (topology) => {
  it('a client cut off for 1 s and recovered through another node is never seen leaving: no leave-*, no join-*, counted once', async () => {
    const nodes = await graceNodes(3, topology, { PRESENCE_GRACE_MS: '3000' });
    const proxy = await startCuttableProxy(nodes[0]!.port);
    const client = await connectClient(proxy.url, FAST_RECONNECT);
    const watcher = await connectClient(nodes[2]!.url);
    await join(watcher, 'news');
    await join(watcher, 'news', 'r1');
    await joinSeen(client, watcher, 'news');
    await joinSeen(client, watcher, 'news', 'r1');
    const id = client.id;
    const seen = presenceOf(watcher, () => id);
    const counts: number[] = [];
    watcher.on('online-users', (e: OnlineUsersEnvelope) => counts.push(e.data.onlineUsers));
    const back = reconnected(client);
    await proxy.outage(1000, nodes[1]!.port);
    await back;
    expect([client.recovered, client.id]).toEqual([true, id]);
    // The old node's grace ends: its removal finds the membership taken over, so nothing is announced.
    await vi.waitFor(() => expect(metric(nodes[0]!, 'realtime_presence_grace_ends_total{outcome="recovered"}')).resolves.toBe(1), {
      timeout: 10_000,
      interval: 100,
    });
    expect(await metric(nodes[0]!, 'realtime_presence_grace_ends_total{outcome="left"}')).toBe(0);
    // Counted once, on the node it came back to: the watcher, the client and the probe.
    expect(await countWithProbe(nodes[2]!, 'news')).toBe(3);
    expect(seen).toEqual([]);
    // No count ever dipped while it was away (only the probe's own join and leave moved it).
    expect(counts.filter((c) => c < 2)).toEqual([]);
    // Still a member where it is now: a message of the watcher reaches it.
    const got = nextEvent<RelayedEnvelope>(client, 'news', (e) => e.data.message === 'still here?');
    expect(await emitWithAck(watcher, 'news', { data: { roomChannel: 'news', message: 'still here?' } })).toEqual({ ok: true });
    await got;
  });
});

describe('presence grace on standalone Redis: same node, past the grace, leaves, refusals, drains, crashes', () => {
  it('back on the same node within the grace: nothing announced, and the grace ends there as recovered', async () => {
    const nodes = await graceNodes(2, 'standalone', { PRESENCE_GRACE_MS: '3000' });
    const proxy = await startCuttableProxy(nodes[0]!.port);
    const client = await connectClient(proxy.url, FAST_RECONNECT);
    const watcher = await connectClient(nodes[1]!.url);
    await join(watcher, 'news');
    await joinSeen(client, watcher, 'news');
    const id = client.id;
    const seen = presenceOf(watcher, () => id);
    const back = reconnected(client);
    await proxy.outage(1000);
    await back;
    expect([client.recovered, client.id]).toEqual([true, id]);
    expect(await metric(nodes[0]!, 'realtime_presence_grace_ends_total{outcome="recovered"}')).toBe(1);
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(3);
    // Past the grace, still nothing: the timer was cancelled, not left to remove a live member.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(3);
    expect(seen).toEqual([]);
  });

  it('not back within the grace: one leave-* after the grace; recovered later, it joins again, and its replay shows both', async () => {
    const nodes = await graceNodes(3, 'standalone', { PRESENCE_GRACE_MS: '1000' });
    const proxy = await startCuttableProxy(nodes[0]!.port);
    const client = await connectClient(proxy.url, FAST_RECONNECT);
    const watcher = await connectClient(nodes[2]!.url);
    await join(watcher, 'news');
    await joinSeen(client, watcher, 'news');
    const id = client.id;
    const seen = presenceOf(watcher, () => id);
    const own = presenceOf(client, () => id);
    const left = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === id);
    const cutAt = performance.now();
    const back = reconnected(client);
    const cut = proxy.outage(2500, nodes[1]!.port);
    await left;
    // The grace counts from when the node saw the loss, which is after the cut.
    expect(performance.now() - cutAt).toBeGreaterThanOrEqual(950);
    expect(await countWithProbe(nodes[2]!, 'news')).toBe(2);
    await cut;
    await back;
    expect([client.recovered, client.id]).toEqual([true, id]);
    await vi.waitFor(() => expect(seen).toEqual(['leave-channel', 'join-channel']));
    await vi.waitFor(() => expect(own).toEqual(['leave-channel', 'join-channel']));
    expect(await countWithProbe(nodes[2]!, 'news')).toBe(3);
    expect(await metric(nodes[0]!, 'realtime_presence_grace_ends_total{outcome="left"}')).toBe(1);
  });

  it('a client disconnect() and an explicit leave are announced at once, whatever the grace', async () => {
    const nodes = await graceNodes(2, 'standalone', { PRESENCE_GRACE_MS: '60000' });
    const client = await connectClient(nodes[0]!.url);
    const other = await connectClient(nodes[0]!.url);
    const watcher = await connectClient(nodes[1]!.url);
    await join(watcher, 'news');
    await join(client, 'news');
    await join(other, 'news');
    const leftByLeave = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === other.id);
    expect(await emitWithAck(other, 'leave-channel', { data: { roomChannel: 'news' } })).toMatchObject({ ok: true, onlineUsers: 2 });
    await leftByLeave;
    const id = client.id;
    const leftByDisconnect = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === id, 10_000);
    client.disconnect();
    await leftByDisconnect;
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(2);
    expect(await metric(nodes[0]!, 'realtime_recoveries_total{outcome="saved"}')).toBe(0);
  });

  it('a recovery that is refused ends the grace at once: the old connection leaves, and is no longer counted', async () => {
    const nodes = await graceNodes(2, 'standalone', { PRESENCE_GRACE_MS: '60000', RECOVERY_MAX_MESSAGES_PER_TOPIC: '3' });
    const proxy = await startCuttableProxy(nodes[0]!.port);
    const client = await connectClient(proxy.url, FAST_RECONNECT);
    const watcher = await connectClient(nodes[1]!.url);
    await join(watcher, 'news');
    await join(client, 'news');
    const id = client.id;
    const left = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === id, 10_000);
    const back = reconnected(client);
    const cut = proxy.outage(1000, nodes[1]!.port);
    // More than the cap while it is away: its recovery is refused.
    for (let i = 0; i < 5; i++) {
      expect(await emitWithAck(watcher, 'news', { data: { roomChannel: 'news', message: `m${i}` } })).toEqual({ ok: true });
    }
    await cut;
    await back;
    expect(client.recovered).toBe(false);
    await left;
    // The watcher and the probe; the client, now a new connection, joined nothing.
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(2);
    expect(await metric(nodes[1]!, 'realtime_presence_grace_ends_total{outcome="released"}')).toBe(1);
  });

  it('a drained node keeps its clients as members: those recovered elsewhere never leave, one that never comes back leaves once after the grace', async () => {
    const nodes = await graceNodes(2, 'standalone', { PRESENCE_GRACE_MS: '3000' });
    const returning = await startCuttableProxy(nodes[0]!.port);
    const vanishing = await startCuttableProxy(nodes[0]!.port);
    const comesBack = await connectClient(returning.url, FAST_RECONNECT);
    const neverBack = await connectClient(vanishing.url, FAST_RECONNECT);
    const watcher = await connectClient(nodes[1]!.url);
    await join(watcher, 'news');
    await joinSeen(comesBack, watcher, 'news');
    await joinSeen(neverBack, watcher, 'news');
    const [backId, goneId] = [comesBack.id, neverBack.id];
    const seenBack = presenceOf(watcher, () => backId);
    const seenGone = presenceOf(watcher, () => goneId);
    const goneLeft = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === goneId, 20_000);
    // Reconnections held while the node drains; then one client comes back, through the survivor.
    returning.block();
    vanishing.block();
    const back = reconnected(comesBack);
    const drainedAt = performance.now();
    nodes[0]!.signal('SIGTERM');
    await nodes[0]!.exited;
    returning.retarget(nodes[1]!.port);
    returning.unblock();
    await back;
    expect([comesBack.recovered, comesBack.id]).toEqual([true, backId]);
    await goneLeft;
    // Reaped by the survivor once the drained node's grace passed (its TTL does not shorten it).
    expect(performance.now() - drainedAt).toBeGreaterThanOrEqual(3000);
    expect(await metric(nodes[1]!, 'realtime_reaped_memberships_total')).toBe(1);
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(3);
    expect(seenBack).toEqual([]);
    expect(seenGone).toEqual(['leave-channel']);
  });

  it('after kill -9, the crashed node’s members stay counted for the grace, then leave once', async () => {
    const nodes = await graceNodes(2, 'standalone', { PRESENCE_GRACE_MS: '3000', HEARTBEAT_INTERVAL_MS: '200', NODE_TTL_MS: '1000' });
    const victim = await connectClient(nodes[0]!.url);
    const watcher = await connectClient(nodes[1]!.url);
    await join(watcher, 'news');
    await joinSeen(victim, watcher, 'news');
    const id = victim.id;
    const seen = presenceOf(watcher, () => id);
    const left = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === id, 20_000);
    victim.io.opts.reconnection = false;
    const killedAt = performance.now();
    nodes[0]!.signal('SIGKILL');
    await nodes[0]!.exited;
    // Past the TTL, within the grace: still counted.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(3);
    await left;
    // Not before its last heartbeat (at most 200 ms before the kill) + TTL + grace.
    expect(performance.now() - killedAt).toBeGreaterThanOrEqual(1000 + 3000 - 200);
    expect(await countWithProbe(nodes[1]!, 'news')).toBe(2);
    expect(seen).toEqual(['leave-channel']);
  });
});
