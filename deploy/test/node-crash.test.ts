import { expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  connectClients,
  emitWithAck,
  freePort,
  registerTeardown,
  startChannelTraffic,
  startNginx,
  startRedisProcess,
  startServerProcess,
  uniqueKeyPrefix,
} from '@realtime/testing';

/**
 * `kill -9` of one of 3 nodes holding a third of 1,000 clients, all behind
 * a real nginx, 10 channels with a publisher each at 10 msg/s (issue 11).
 * The killed node saved no sessions (that needs a live session record in
 * Redis, not built yet), so its clients reconnect through nginx to the
 * survivors with `recovered === false` and join again under new ids, as the
 * SDK does. Asserted, as users see it today: every one of them is back
 * within 10 s of the kill; none is ever told it recovered; their old
 * memberships stay counted for PRESENCE_GRACE_MS after the node is dead,
 * then leave once, and every count ends exact. Printed: the time until all
 * are back, what they lost while away, and what the other members saw.
 */
const CLIENTS = 1000;
const CHANNELS = 10;
const channelOf = (i: number): string => `crash-${i % CHANNELS}`;
const NODE_TTL_MS = 5000;
const GRACE_MS = 5000;

it('1,000 clients, kill -9 of the node holding a third: all back on the survivors within 10 s, old members leave once after the grace, counts exact', async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const keyPrefix = uniqueKeyPrefix('crash');
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const env = (i: number) => ({
    PORT: String(ports[i]),
    RATE_LIMIT_EVENTS_PER_SECOND: '0',
    HANDSHAKE_RATE_PER_IP: '0',
    NODE_TTL_MS: String(NODE_TTL_MS),
    PRESENCE_GRACE_MS: String(GRACE_MS),
  });
  const nodes = await Promise.all(
    [0, 1, 2].map((i) => startServerProcess({ nodeId: `crash-${i + 1}`, redisUrl: redis.url, keyPrefix, env: env(i) })),
  );
  const lb = await startNginx(ports);
  const clients = await connectClients(lb.url, CLIENTS, {
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelayMs: { first: 200, max: 1000 },
  });
  // Publishers (and their acks) on the survivors: the kill loses no publisher.
  const publishers = await Promise.all(Array.from({ length: CHANNELS }, (_, c) => connectClient(nodes[1 + (c % 2)]!.url)));
  const seen = clients.map(() => [] as string[]);
  clients.forEach((client, i) => {
    client.on(channelOf(i), (e: RelayedEnvelope) => seen[i]!.push(e.data.message));
    // As the SDK does: a connection that was not recovered joins its channel again.
    client.on('connect', () => {
      if (!client.recovered) void emitWithAck(client, 'join-channel', { data: { roomChannel: channelOf(i) } }).catch(() => undefined);
    });
  });
  const joinsSeen = clients.map(() => new Set<string>());
  clients.forEach((c, i) => c.on('join-channel', (e: RelayedEnvelope) => joinsSeen[i]!.add(e.clientId)));
  for (const [i, c] of clients.entries())
    expect(await emitWithAck(c, 'join-channel', { data: { roomChannel: channelOf(i) } })).toMatchObject({ ok: true });
  for (const [c, p] of publishers.entries())
    expect(await emitWithAck(p, 'join-channel', { data: { roomChannel: channelOf(c) } })).toMatchObject({ ok: true });
  await vi.waitFor(() => expect(clients.filter((_, i) => !joinsSeen[i]!.has(publishers[i % CHANNELS]!.id!))).toEqual([]), {
    timeout: 30_000,
  });

  // What the clients that stay connected see from the kill on.
  let watching = false;
  const lostAt = new Map<number, number>();
  const backAt = new Map<number, number>();
  const oldIds = clients.map((c) => c.id!);
  const flaps = { leaves: 0, joins: 0 };
  const leftOld = new Map<string, number>();
  let firstLeaveAt = Number.POSITIVE_INFINITY;

  clients.forEach((client, i) => {
    client.on('disconnect', () => watching && lostAt.set(i, performance.now()));
    client.on('connect', () => watching && backAt.set(i, performance.now()));
    client.on('leave-channel', (e: RelayedEnvelope) => {
      if (!watching || lostAt.has(i)) return;
      flaps.leaves++;
      firstLeaveAt = Math.min(firstLeaveAt, performance.now());
      leftOld.set(`${i}:${e.clientId}`, (leftOld.get(`${i}:${e.clientId}`) ?? 0) + 1);
    });
    client.on('join-channel', () => watching && !lostAt.has(i) && flaps.joins++);
  });

  const traffic = startChannelTraffic(publishers, channelOf, 10);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  watching = true;
  const killedAt = performance.now();
  nodes[0]!.signal('SIGKILL');
  await nodes[0]!.exited;
  // Every client the kill cut off is connected again, through nginx, to a survivor.
  await vi.waitFor(() => expect(clients.filter((c) => !c.connected)).toEqual([]), { timeout: 20_000, interval: 50 });
  const cutOff = [...lostAt.keys()];
  const allBackMs = Math.max(...cutOff.map((i) => backAt.get(i)! - killedAt));
  // The survivors reap the dead node's members once it is dead and the grace has passed.
  // Each old id, seen leave by every client of its channel that stayed connected.
  let expectedLeaves = 0;
  for (let c = 0; c < CHANNELS; c++) {
    const inChannel = clients.map((_, i) => i).filter((i) => i % CHANNELS === c);
    expectedLeaves += inChannel.filter((i) => lostAt.has(i)).length * inChannel.filter((i) => !lostAt.has(i)).length;
  }
  await vi.waitFor(() => expect(flaps.leaves).toBe(expectedLeaves), { timeout: NODE_TTL_MS + GRACE_MS + 15_000, interval: 100 });
  const firstLeaveMs = firstLeaveAt - killedAt;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await traffic.stop();

  let lost = 0;
  let duplicated = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const got = seen[i]!;
    duplicated += got.length - new Set(got).size;
    lost += traffic.acked[i % CHANNELS]!.filter((m) => !got.includes(m)).length;
  }
  const lostByCutOff = cutOff.reduce((sum, i) => sum + traffic.acked[i % CHANNELS]!.filter((m) => !seen[i]!.includes(m)).length, 0);
  const recovered = cutOff.filter((i) => clients[i]!.recovered).length;
  console.info(
    `kill -9 of 1 of 3 nodes, ${CLIENTS} clients behind nginx: ${cutOff.length} cut off, all back on the survivors ${Math.round(allBackMs)} ms after the kill, ` +
      `${recovered} recovered (sessions die with a killed node: not built yet); ` +
      `${traffic.acked.reduce((a, l) => a + l.length, 0)} messages acknowledged, lost ${lost} (all by cut-off clients while away: ${lostByCutOff}), duplicated ${duplicated}; ` +
      `the other clients saw ${flaps.joins} join-channel (new ids) and ${flaps.leaves} leave-channel (old ids, the first ${Math.round(firstLeaveMs)} ms after the kill)`,
  );
  expect(cutOff.length).toBeGreaterThan(CLIENTS / 5);
  expect(allBackMs).toBeLessThan(10_000);
  // Never a false recovery: a killed node's sessions are not kept (yet), so none is recovered.
  expect(recovered).toBe(0);
  expect(cutOff.every((i) => clients[i]!.id !== oldIds[i])).toBe(true);
  expect(duplicated).toBe(0);
  // Only the cut-off clients lost messages (while away); the others lost none.
  expect(lost).toBe(lostByCutOff);
  // Each old id left once, for each watcher of its channel, and not before the node was dead and the grace had passed.
  expect([...leftOld.values()].filter((n) => n !== 1)).toEqual([]);
  // Its last heartbeat came at most HEARTBEAT_INTERVAL_MS (1.5 s) before the kill.
  expect(firstLeaveMs).toBeGreaterThanOrEqual(NODE_TTL_MS + GRACE_MS - 1500);
  // Counts end exact: every channel's members are its clients and its publisher, once each.
  const probe = await connectClient(nodes[1]!.url);
  for (let c = 0; c < CHANNELS; c++) {
    const ack = await emitWithAck<{ onlineUsers: number }>(probe, 'join-channel', { data: { roomChannel: channelOf(c) } });
    expect(ack).toMatchObject({ ok: true, onlineUsers: CLIENTS / CHANNELS + 1 + 1 });
  }
}, 150_000);
