import { describe, expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  connectClients,
  emitWithAck,
  nextEvent,
  startCluster,
  startCuttableProxy,
  startServerProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';
import { metric } from './support/node-metrics.js';
import { redisEnv } from './support/redis-env.js';

/**
 * kill -9 of a node in every Redis mode: the node never saved its
 * connections' sessions, but its run journal in Redis kept them, so its
 * clients, coming back through another node, are recovered there once it
 * counts as dead: same ids, every message sent meanwhile once and in order,
 * and no leave-* or join-* seen by anyone. (The 1,000-client version behind
 * nginx is deploy/test/node-crash.test.ts.)
 */
const CLIENTS = 20;
const FAST = { NODE_TTL_MS: '2000', HEARTBEAT_INTERVAL_MS: '500', PRESENCE_GRACE_MS: '5000', RECOVERY_WINDOW_MS: '120000' };

function messagesOf(socket: Socket, channel: string): string[] {
  const seen: string[] = [];
  socket.on(channel, (e: RelayedEnvelope) => seen.push(e.data.message));
  return seen;
}

/**
 * Everyone joins channel `k`, then the watcher starts recording flaps
 * (`leave-channel`/`join-channel`, as `event:clientId`). Join events travel
 * after the acks: the watcher has seen the last one before anything is recorded.
 */
async function joinAllAndWatch(sender: Socket, watcher: Socket, clients: readonly Socket[]): Promise<string[]> {
  const last = clients.at(-1)!;
  const lastJoinSeen = nextEvent<RelayedEnvelope>(watcher, 'join-channel', (e) => e.clientId === last.id);
  for (const s of [sender, watcher, ...clients]) {
    expect(await emitWithAck(s, 'join-channel', { data: { roomChannel: 'k' } })).toMatchObject({ ok: true });
  }
  await lastJoinSeen;
  const flaps: string[] = [];
  for (const event of ['leave-channel', 'join-channel']) watcher.on(event, (e: RelayedEnvelope) => flaps.push(`${event}:${e.clientId}`));
  return flaps;
}

/** Sends `<label>-<i>` to `k`, each acknowledged before the next; `sent` lists them in order. */
function publisher(sender: Socket): { sent: string[]; publish: (label: string, n: number) => Promise<void> } {
  const sent: string[] = [];
  return {
    sent,
    publish: async (label, n) => {
      for (let i = 0; i < n; i++) {
        const message = `${label}-${i}`;
        expect(await emitWithAck(sender, 'k', { data: { roomChannel: 'k', message } })).toEqual({ ok: true });
        sent.push(message);
      }
    },
  };
}

describe.each(['standalone', 'sentinel', 'cluster'] as const)('kill -9 of a node, %s Redis', (topology) => {
  it('its clients are recovered through another node from its run journal: same ids, every message once, no flap', async () => {
    const nodes = await startCluster(3, {
      keyPrefix: uniqueKeyPrefix('kill-recovery'),
      env: { ...(await redisEnv(topology)), ...FAST, RATE_LIMIT_EVENTS_PER_SECOND: '0' },
    });
    const proxy = await startCuttableProxy(nodes[0]!.port);
    const clients = await connectClients(proxy.url, CLIENTS, { reconnection: true, reconnectionDelayMs: { first: 100, max: 300 } });
    const sender = await connectClient(nodes[2]!.url);
    const watcher = await connectClient(nodes[1]!.url);
    const flaps = await joinAllAndWatch(sender, watcher, clients);
    const seen = clients.map((c) => messagesOf(c, 'k'));
    const { sent, publish } = publisher(sender);
    await publish('before', 5);
    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual(clients.map(() => 5)));
    const ids = clients.map((c) => c.id);
    const back = clients.map((c) => new Promise<void>((resolve) => c.once('connect', () => resolve())));
    // The node dies with its clients' connections; they come back through the proxy to node 2.
    proxy.block();
    nodes[0]!.signal('SIGKILL');
    await nodes[0]!.exited;
    proxy.retarget(nodes[1]!.port);
    proxy.unblock();
    const killedAt = performance.now();
    await publish('during', 10);
    await Promise.all(back);
    const backMs = performance.now() - killedAt;
    await publish('after', 5);
    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual(clients.map(() => sent.length)));
    expect(clients.map((c) => c.recovered)).toEqual(clients.map(() => true));
    expect(clients.map((c) => c.id)).toEqual(ids);
    for (const got of seen) expect(got).toEqual(sent);
    expect(await metric(nodes[1]!, 'realtime_recoveries_total{outcome="recovered"}')).toBe(CLIENTS);
    // Past the dead node's TTL and grace: its memberships were taken over, none is reaped.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 + 5000 + 1500 - (performance.now() - killedAt))));
    expect(flaps).toEqual([]);
    const probe = await connectClient(nodes[1]!.url);
    expect(await emitWithAck(probe, 'join-channel', { data: { roomChannel: 'k' } })).toMatchObject({ ok: true, onlineUsers: CLIENTS + 3 });
    console.info(`kill -9 (${topology}): ${CLIENTS}/${CLIENTS} recovered ${Math.round(backMs)} ms after the kill, 0 lost, 0 leave/join`);
  }, 60_000);
});

describe('kill -9 of a node restarted in place under the same NODE_ID (a container restarted in its pod), standalone Redis', () => {
  it('its clients are recovered, on the restarted process and on another node, with every message once and no flap', async () => {
    const keyPrefix = uniqueKeyPrefix('kill-restart');
    const env = { ...(await redisEnv('standalone')), ...FAST, RATE_LIMIT_EVENTS_PER_SECOND: '0' };
    const nodes = await startCluster(2, { keyPrefix, env });
    // Half of the clients come back to the restarted process, half to the other node.
    const toRestarted = await startCuttableProxy(nodes[0]!.port);
    const toOther = await startCuttableProxy(nodes[0]!.port);
    const reconnect = { reconnection: true, reconnectionDelayMs: { first: 100, max: 300 } } as const;
    const clients = [
      ...(await connectClients(toRestarted.url, CLIENTS / 2, reconnect)),
      ...(await connectClients(toOther.url, CLIENTS / 2, reconnect)),
    ];
    const sender = await connectClient(nodes[1]!.url);
    const watcher = await connectClient(nodes[1]!.url);
    const flaps = await joinAllAndWatch(sender, watcher, clients);
    const seen = clients.map((c) => messagesOf(c, 'k'));
    const { sent, publish } = publisher(sender);
    await publish('before', 3);
    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual(clients.map(() => 3)));
    const ids = clients.map((c) => c.id);
    const back = clients.map((c) => new Promise<void>((resolve) => c.once('connect', () => resolve())));
    toRestarted.block();
    toOther.block();
    nodes[0]!.signal('SIGKILL');
    await nodes[0]!.exited;
    // The same node id again, at once: well within the dead process's TTL (it still looks alive by its heartbeat).
    const restarted = await startServerProcess({ nodeId: nodes[0]!.nodeId, keyPrefix, env });
    const restartedAt = performance.now();
    toRestarted.retarget(restarted.port);
    toOther.retarget(nodes[1]!.port);
    toRestarted.unblock();
    toOther.unblock();
    await publish('during', 5);
    await Promise.all(back);
    const backMs = performance.now() - restartedAt;
    await publish('after', 3);
    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual(clients.map(() => sent.length)));
    expect(clients.map((c) => c.recovered)).toEqual(clients.map(() => true));
    expect(clients.map((c) => c.id)).toEqual(ids);
    for (const got of seen) expect(got).toEqual(sent);
    expect(await metric(restarted, 'realtime_recoveries_total{outcome="recovered"}')).toBe(CLIENTS / 2);
    expect(await metric(nodes[1]!, 'realtime_recoveries_total{outcome="recovered"}')).toBe(CLIENTS / 2);
    // Past the grace the restarted process keeps its predecessor's members for: every one was taken over, none reaped.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5000 + 1500 - (performance.now() - restartedAt))));
    expect(await metric(restarted, 'realtime_reaped_memberships_total')).toBe(0);
    expect(flaps).toEqual([]);
    const probe = await connectClient(restarted.url);
    expect(await emitWithAck(probe, 'join-channel', { data: { roomChannel: 'k' } })).toMatchObject({ ok: true, onlineUsers: CLIENTS + 3 });
    console.info(
      `kill -9 and restart under the same NODE_ID: ${CLIENTS}/${CLIENTS} recovered ${Math.round(backMs)} ms after the restart, 0 lost, 0 leave/join`,
    );
  }, 60_000);
});
