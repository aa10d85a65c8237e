import { expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { OnlineUsersEnvelope, RelayedEnvelope } from '@realtime/protocol';
import {
  connectClients,
  emitWithAck,
  freePort,
  startChannelTraffic,
  startNginx,
  startRedisProcess,
  startServerProcess,
  registerTeardown,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';

/**
 * A rolling deploy behind a real nginx (issue 11): 300 clients and 10
 * publishers, all through nginx, traffic flowing; each of the 3 nodes in
 * turn gets SIGTERM and is replaced by a fresh process (a new node id) on
 * its port, the next only once every client is connected again. A drained
 * client reconnects through nginx to a node still up and is recovered
 * there. Asserted: every reconnection is a recovery (same id); every
 * acknowledged message reaches every member of its channel once, in order;
 * and, with the presence grace, members see no `leave-*` and no `join-*`,
 * and every count they are told is the true one. Printed: the figures.
 */
const CLIENTS = 300;
const CHANNELS = 10;
const channelOf = (i: number): string => `deploy-${i % CHANNELS}`;
const MEMBERS_PER_CHANNEL = CLIENTS / CHANNELS;

it('300 clients through nginx, each of 3 nodes restarted in turn: every client recovered, every acknowledged message once to every member', async () => {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const keyPrefix = uniqueKeyPrefix('deploy');
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  let generation = 0;
  const start = (slot: number): Promise<ServerProcess> =>
    startServerProcess({
      nodeId: `deploy-${slot + 1}-v${generation++}`,
      redisUrl: redis.url,
      keyPrefix,
      env: { PORT: String(ports[slot]), RATE_LIMIT_EVENTS_PER_SECOND: '0', HANDSHAKE_RATE_PER_IP: '0' },
    });
  const nodes = await Promise.all([0, 1, 2].map(start));
  const lb = await startNginx(ports);
  const options = { transports: ['websocket' as const], reconnection: true, reconnectionDelayMs: { first: 200, max: 1000 } };
  const members = await connectClients(lb.url, CLIENTS, options);
  const publishers = await connectClients(lb.url, CHANNELS, options);
  const everyone: Socket[] = [...members, ...publishers];
  const ids = everyone.map((s) => s.id);
  const reconnections = { total: 0, recovered: 0 };
  // Every `connect` from now on is a reconnection; `recovered` is set by then (not yet at the Manager's `reconnect`).
  for (const s of everyone)
    s.on('connect', () => {
      reconnections.total++;
      if (s.recovered) reconnections.recovered++;
    });
  const seen = members.map(() => [] as string[]);
  // From the deploy on: presence events and counts the members see (none of anyone's joins before it).
  let deploying = false;
  const flaps = { leaves: 0, joins: 0 };
  const countsSeen: number[] = [];
  const joinsSeen = members.map(() => new Set<string>());
  members.forEach((m, i) => {
    m.on(channelOf(i), (e: RelayedEnvelope) => seen[i]!.push(e.data.message));
    m.on('leave-channel', () => deploying && flaps.leaves++);
    m.on('join-channel', (e: RelayedEnvelope) => (deploying ? flaps.joins++ : joinsSeen[i]!.add(e.clientId)));
    m.on('online-users', (e: OnlineUsersEnvelope) => deploying && countsSeen.push(e.data.onlineUsers));
  });
  for (const [i, m] of members.entries())
    expect(await emitWithAck(m, 'join-channel', { data: { roomChannel: channelOf(i) } })).toMatchObject({ ok: true });
  for (const [c, p] of publishers.entries())
    expect(await emitWithAck(p, 'join-channel', { data: { roomChannel: channelOf(c) } })).toMatchObject({ ok: true });
  // Join events travel after their acks: every member has seen its publisher's before the deploy begins.
  await vi.waitFor(() => expect(members.filter((_, i) => !joinsSeen[i]!.has(publishers[i % CHANNELS]!.id!))).toEqual([]), {
    timeout: 15_000,
  });
  deploying = true;

  // 10 msg/s per channel, each sent with an ack (socket.io-client holds what is emitted while disconnected).
  const traffic = startChannelTraffic(publishers, channelOf, 10);
  const { acked, unacked } = traffic;

  // Recovery outcomes of every node, read before it is replaced and at the end.
  const outcomes = new Map<string, number>();
  const readOutcomes = async (node: ServerProcess): Promise<void> => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    for (const [, outcome, value] of text.matchAll(/^realtime_recoveries_total\{outcome="([a-z_]+)"\} (\d+)$/gm)) {
      outcomes.set(outcome!, (outcomes.get(outcome!) ?? 0) + Number(value));
    }
  };
  const startedAt = performance.now();
  for (let slot = 0; slot < 3; slot++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const old = nodes[slot]!;
    await readOutcomes(old);
    old.signal('SIGTERM');
    expect((await old.exited).code).toBe(0);
    nodes[slot] = await start(slot);
    await vi.waitFor(() => expect(everyone.filter((s) => !s.connected)).toEqual([]), { timeout: 20_000, interval: 50 });
  }
  const deployMs = performance.now() - startedAt;
  for (const node of nodes) await readOutcomes(node);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await traffic.stop();

  const expected = (i: number): string[] => acked[i % CHANNELS]!;
  await vi
    .waitFor(() => expect(members.map((_, i) => seen[i]!.length >= expected(i).length)).not.toContain(false), { timeout: 15_000 })
    .catch(() => undefined);
  let lost = 0;
  let duplicated = 0;
  let unackedPartial = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const got = seen[i]!;
    duplicated += got.length - new Set(got).size;
    lost += expected(i).filter((m) => !got.includes(m)).length;
  }
  // An unacknowledged message reaches all of its channel's members or none.
  for (let c = 0; c < CHANNELS; c++) {
    for (const message of unacked[c]!) {
      const reached = members.filter((_, i) => i % CHANNELS === c && seen[i]!.includes(message)).length;
      if (reached !== 0 && reached !== CLIENTS / CHANNELS) unackedPartial++;
    }
  }
  console.info(
    `rolling deploy behind nginx: ${CLIENTS} clients + ${CHANNELS} publishers, 3 nodes restarted in ${Math.round(deployMs)} ms; ` +
      `${reconnections.total} reconnections, ${reconnections.recovered} recovered (server outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}); ` +
      `${acked.reduce((a, l) => a + l.length, 0)} messages acknowledged (${unacked.reduce((a, l) => a + l.length, 0)} not), ` +
      `lost ${lost}, duplicated ${duplicated}, unacknowledged reaching only some members ${unackedPartial}; ` +
      `leave-channel seen ${flaps.leaves}, join-channel seen ${flaps.joins}; ` +
      `online-users counts seen ${countsSeen.length}, off the true ${MEMBERS_PER_CHANNEL + 1}: ${countsSeen.filter((c) => c !== MEMBERS_PER_CHANNEL + 1).length}`,
  );
  // Presence grace: nobody was seen leaving or joining, and no count moved.
  expect(flaps).toEqual({ leaves: 0, joins: 0 });
  expect(countsSeen.filter((c) => c !== MEMBERS_PER_CHANNEL + 1)).toEqual([]);
  expect(reconnections.total).toBeGreaterThanOrEqual(CLIENTS + CHANNELS);
  expect(reconnections.recovered).toBe(reconnections.total);
  expect(everyone.map((s) => s.id)).toEqual(ids);
  expect([lost, duplicated, unackedPartial]).toEqual([0, 0, 0]);
  // In order; an unacknowledged message that reached every member (allowed above) aside.
  for (let i = 0; i < CLIENTS; i++) expect(seen[i]!.filter((m) => !unacked[i % CHANNELS]!.includes(m))).toEqual(expected(i));
}, 120_000);
