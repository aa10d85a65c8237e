import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  connectClients,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  record,
  startCluster,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { expectCounts, join, member, type Member } from './support/cluster-clients.js';
import { redisEnv } from './support/redis-env.js';

/**
 * Three nodes, each its own process, on one Redis. Tests use distinct
 * channel names, so they share the cluster without seeing each other.
 */

describe.each([
  ['standalone', 'classic'],
  ['standalone', 'sharded'],
  ['sentinel', 'classic'],
  ['cluster', 'sharded'],
] as const)('%s Redis, ADAPTER_MODE=%s', (topology, adapterMode) => {
  let nodes: ServerProcess[];
  let urls: string[];

  beforeAll(async () => {
    const env = await redisEnv(topology);
    nodes = await startCluster(3, { keyPrefix: uniqueKeyPrefix('cluster'), env: { ...env, ADAPTER_MODE: adapterMode } });
    urls = nodes.map((n) => n.url);
  });

  async function oneMemberPerNode(transports?: ('websocket' | 'polling')[]): Promise<Member[]> {
    return Promise.all(urls.map(async (url) => member(await connectClient(url, transports ? { transports } : {}))));
  }

  describe('a cluster of three nodes on one Redis', () => {
    it('channels: joins, messages and exact counts cross nodes', async () => {
      const members = await oneMemberPerNode();
      const [m1, m2, m3] = members as [Member, Member, Member];
      const joinsSeenBy1 = record<RelayedEnvelope>(m1.socket, 'join-channel');
      expect(await join(m1, 'ch-a')).toBe(1);
      expect(await join(m2, 'ch-a')).toBe(2);
      expect(await join(m3, 'ch-a')).toBe(3);
      // join-* events are low-priority announcements: every member is told of every join, in no guaranteed order across joiners.
      await vi.waitFor(() => expect(joinsSeenBy1.map((e) => e.clientId).sort()).toEqual([m1.socket.id, m2.socket.id, m3.socket.id].sort()));
      await expectCounts(members, 'ch-a', 3);

      const received = members.map((m) => nextEvent<RelayedEnvelope>(m.socket, 'ch-a'));
      expect(await emitWithAck(m3.socket, 'ch-a', guideEnvelope({ roomChannel: 'ch-a', message: 'from node 3' }, m3.socket))).toEqual({
        ok: true,
      });
      for (const envelope of await Promise.all(received)) {
        expect(envelope).toMatchObject({ clientId: m3.socket.id, data: { message: 'from node 3', roomChannel: 'ch-a', roomId: null } });
      }
    });

    it('rooms: delivered across nodes, and room r1 of channel A is not room r1 of channel B', async () => {
      const members = await oneMemberPerNode();
      const [m1, m2, m3] = members as [Member, Member, Member];
      await join(m1, 'rooms-A', 'r1');
      await join(m2, 'rooms-A', 'r1');
      await join(m3, 'rooms-B', 'r1');
      await expectCounts([m1, m2], 'rooms-A', 2, 10_000, 'r1');
      await expectCounts([m3], 'rooms-B', 1, 10_000, 'r1');

      const otherRoom = record(m3.socket, 'notify-room');
      const toM2 = nextEvent<RelayedEnvelope>(m2.socket, 'notify-room');
      await emitWithAck(m1.socket, 'notify-room', guideEnvelope({ roomChannel: 'rooms-A', roomId: 'r1', message: 'A only' }, m1.socket));
      expect((await toM2).data).toEqual({ message: 'A only', roomId: 'r1', roomChannel: 'rooms-A' });
      // A message in B/r1 is the marker: once m3 has it, it would have had A's.
      const marker = nextEvent<RelayedEnvelope>(m3.socket, 'notify-room');
      await emitWithAck(m3.socket, 'notify-room', guideEnvelope({ roomChannel: 'rooms-B', roomId: 'r1', message: 'B' }, m3.socket));
      await marker;
      expect(otherRoom.map((e) => (e as RelayedEnvelope).data.message)).toEqual(['B']);
    });

    it('polling-only and websocket clients on different nodes see each other', async () => {
      const polling = await oneMemberPerNode(['polling']);
      const ws = await oneMemberPerNode(['websocket']);
      const everyone = [...polling, ...ws];
      for (const m of everyone) await join(m, 'mixed');
      await expectCounts(everyone, 'mixed', 6);
      const all = everyone.map((m) => nextEvent<RelayedEnvelope>(m.socket, 'mixed'));
      await emitWithAck(polling[1]!.socket, 'mixed', guideEnvelope({ roomChannel: 'mixed', message: 'over polling' }, polling[1]!.socket));
      expect((await Promise.all(all)).map((e) => e.data.message)).toEqual(everyone.map(() => 'over polling'));
    });

    it('a disconnect on one node is a leave everywhere, with the count', async () => {
      const members = await oneMemberPerNode();
      const [m1, m2, m3] = members as [Member, Member, Member];
      for (const m of members) {
        await join(m, 'dc');
        await join(m, 'dc', 'room');
      }
      await expectCounts(members, 'dc', 3);
      const leftChannel = [m1, m3].map((m) => nextEvent<RelayedEnvelope>(m.socket, 'leave-channel'));
      const leftRoom = [m1, m3].map((m) => nextEvent<RelayedEnvelope>(m.socket, 'leave-room'));
      const gone = m2.socket.id;
      m2.socket.disconnect();
      for (const e of await Promise.all([...leftChannel, ...leftRoom])) expect(e.clientId).toBe(gone);
      await expectCounts([m1, m3], 'dc', 2);
      await expectCounts([m1, m3], 'dc', 2, 10_000, 'room');
    });

    it('concurrent joins on every node: counts never go down on the way and settle at the total', async () => {
      const members = (await connectClients(urls, 90)).map((socket) => member(socket));
      await Promise.all(members.map((m) => join(m, 'burst')));
      await expectCounts(members, 'burst', 90);
      for (const m of members) {
        const seen = m.channelCounts.filter((e) => e.data.roomChannel === 'burst').map((e) => e.data.onlineUsers);
        expect(seen).toEqual([...seen].sort((x, y) => x - y));
      }
    });

    it('300 clients on three nodes, 50 messages each: none lost, none duplicated, each sender in order', async () => {
      const clients = await connectClients(urls, 300);
      const channels = 30;
      const channelOf = (i: number): string => `load-${i % channels}`;
      const inbox = clients.map((socket, i) => record<RelayedEnvelope>(socket, channelOf(i)));
      const members = clients.map((socket) => member(socket));
      await Promise.all(members.map((m, i) => join(m, channelOf(i))));
      const perMessage = 50;
      const ids = clients.map((s) => s.id as string);

      await Promise.all(
        clients.map(async (socket: Socket, i) => {
          for (let n = 0; n < perMessage; n++) {
            const ack = await emitWithAck(socket, channelOf(i), { data: { roomChannel: channelOf(i), message: String(n) } });
            expect(ack).toEqual({ ok: true });
          }
        }),
      );
      // Each channel has 10 members, each sending 50: every member gets 500.
      await vi.waitFor(() => expect(inbox.every((got) => got.length >= 10 * perMessage)).toBe(true), { timeout: 30_000, interval: 100 });
      inbox.forEach((got, i) => {
        expect(got).toHaveLength(10 * perMessage);
        const bySender = new Map<string, number[]>();
        for (const e of got) bySender.set(e.clientId, [...(bySender.get(e.clientId) ?? []), Number(e.data.message)]);
        const expectedSenders = ids.filter((_, j) => j % channels === i % channels).sort();
        expect([...bySender.keys()].sort()).toEqual(expectedSenders);
        for (const sequence of bySender.values()) expect(sequence).toEqual(Array.from({ length: perMessage }, (_, n) => n));
      });
      for (let c = 0; c < channels; c++) {
        await expectCounts(
          members.filter((_, i) => i % channels === c),
          `load-${c}`,
          10,
        );
      }
    });
  });
});
