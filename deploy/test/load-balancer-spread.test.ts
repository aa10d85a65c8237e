import { describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import { startLocalCluster } from '@realtime/local-cluster';
import { emitWithAck, guideEnvelope, nextEvent, registerTeardown, uniqueKeyPrefix, type Transport } from '@realtime/testing';
import { readAccessLog } from './support/haproxy-log.js';
import { appMember, expectLastCounts, nodeOfSocket } from './support/lb-members.js';

/**
 * What `npm run cluster` on a laptop could not do with an address-hashing
 * balancer: clients that all come from 127.0.0.1 spread over every node, so
 * cross-node paths run through the load balancer, and polling sessions stay
 * on the node that holds them (no "Session ID unknown").
 */
const CLIENTS_PER_KIND = 10;
const KINDS: Record<string, Transport[]> = {
  'polling only': ['polling'],
  // socket.io-client's default: a polling handshake, then an upgrade on the same node.
  'polling, then websocket': ['polling', 'websocket'],
  'websocket, polling as fallback': ['websocket', 'polling'],
};

describe('30 clients from one address through HAProxy', () => {
  it(
    'land on every node; every polling session keeps to its node for all its requests, and none is unknown',
    { timeout: 90_000 },
    async () => {
      const cluster = await startLocalCluster({
        nodes: 3,
        // debug: each node logs `connection opened` with the socket id, which tells where a client landed.
        env: { LOG_LEVEL: 'debug', REDIS_KEY_PREFIX: uniqueKeyPrefix('spread') },
      });
      registerTeardown(() => cluster.stop());

      const channel = 'spread';
      // One after the other, kind by kind, as a user opens tabs: each new client is the balancer's next pick.
      const clients = [];
      for (const [kind, transports] of Object.entries(KINDS)) {
        for (let i = 0; i < CLIENTS_PER_KIND; i++) clients.push({ kind, member: await appMember(cluster.url, channel, { transports }) });
      }
      const placed = await Promise.all(
        clients.map(async (client) => ({ ...client, node: await nodeOfSocket(cluster.nodes, client.member.ids[0] as string) })),
      );
      const perNode = Object.fromEntries(cluster.nodes.map((node) => [node.nodeId, placed.filter((p) => p.node === node).length]));
      console.info(`clients per node: ${JSON.stringify(perNode)}`);
      // Every node, and none left with a token share (round robin gives 10 each); every kind of client spread too.
      for (const node of cluster.nodes) expect(perNode[node.nodeId], node.nodeId).toBeGreaterThanOrEqual(CLIENTS_PER_KIND / 2);
      for (const kind of Object.keys(KINDS)) {
        expect(new Set(placed.filter((p) => p.kind === kind).map((p) => p.node.nodeId)), kind).toEqual(
          new Set(cluster.nodes.map((n) => n.nodeId)),
        );
      }

      const everyone = clients.map((c) => c.member);
      // Presence across nodes: every member is told the cluster-wide count.
      await expectLastCounts(everyone, everyone.length);

      // Each polling-only client sends a message; every member, on every node, receives every one.
      const pollers = placed.filter((p) => p.kind === 'polling only');
      for (const { member } of pollers) {
        const text = `from ${member.socket.id}`;
        const received = everyone.map((m) => nextEvent<RelayedEnvelope>(m.socket, channel, (e) => e.data.message === text));
        expect(await emitWithAck(member.socket, channel, guideEnvelope({ roomChannel: channel, message: text }, member.socket))).toEqual({
          ok: true,
        });
        for (const envelope of await Promise.all(received)) expect(envelope.clientId).toBe(member.socket.id);
      }
      // And joins a room and leaves it: more request/response cycles of the same session.
      for (const { member } of pollers) {
        const room = { roomChannel: channel, roomId: `room-${member.socket.id}` };
        expect(await emitWithAck(member.socket, 'join-room', guideEnvelope(room, member.socket))).toMatchObject({
          ok: true,
          onlineUsers: 1,
        });
        expect(await emitWithAck(member.socket, 'leave-room', guideEnvelope(room, member.socket))).toMatchObject({ ok: true });
      }

      // Nobody was refused or dropped, and every polling client is still on its first session, over polling.
      for (const { member } of placed) {
        expect(member.connectErrors).toEqual([]);
        expect(member.disconnects).toEqual([]);
        expect(member.ids).toHaveLength(1);
      }
      for (const { member } of pollers) expect(member.socket.io.engine.transport.name).toBe('polling');

      // The load balancer's log: each session's requests all went to the node that created it, and all succeeded.
      await vi.waitFor(
        () => {
          const log = readAccessLog(cluster.lb.accessLog);
          expect(log.filter((line) => line.status === 400)).toEqual([]);
          for (const { kind, member, node } of placed) {
            const requests = log.filter((line) => line.sid === member.sessionIds[0]);
            // Completed requests only: the pending long poll is logged when it ends.
            if (kind === 'polling only') expect(requests.length, member.socket.id).toBeGreaterThanOrEqual(8);
            expect(new Set(requests.map((line) => line.server)), member.socket.id).toEqual(
              requests.length === 0 ? new Set() : new Set([node.nodeId]),
            );
            for (const line of requests) expect([200, 101], line.uri).toContain(line.status);
          }
        },
        { timeout: 10_000, interval: 50 },
      );
    },
  );
});
