import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  registerTeardown,
  startCluster,
  startServerProcess,
  startTestRedis,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import type { MembershipState, RejoinReport } from '../src/index.js';
import { recordTopic, sdkClient } from './support/sdk-clients.js';

/**
 * A node dies and comes back (SIGKILL, then a new process on the same port
 * and node id) with connection state recovery off (RECOVERY_WINDOW_MS=0),
 * as whenever a connection cannot be recovered: the SDK client that was on
 * it reconnects, joins again every channel and room it was in, says so, and
 * every count in the cluster is right afterwards. Plain socket.io-client,
 * for contrast, reconnects into nothing. (With recovery on, the default,
 * the same restart recovers the connection: see browser.test.ts.)
 */
const RECOVERY_OFF = { RECOVERY_WINDOW_MS: '0' };
describe('the SDK across a node restart', () => {
  let redisUrl: string;
  let keyPrefix: string;
  let nodes: ServerProcess[];

  beforeAll(async () => {
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    redisUrl = redis.url;
    keyPrefix = uniqueKeyPrefix('sdk-restart');
    nodes = await startCluster(3, { redisUrl, keyPrefix, env: RECOVERY_OFF });
  });

  it('rejoins every channel and room, reports it, and the counts are right on every node', async () => {
    const [n1, n2, n3] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const a = sdkClient(n1.url);
    const b = sdkClient(n2.url);
    const c = sdkClient(n3.url);
    const [chA, chB, chC] = [await a.joinChannel('restart'), await b.joinChannel('restart'), await c.joinChannel('restart')];
    const [roomA, roomB] = [await chA.joinRoom('r'), await chB.joinRoom('r')];
    expect([chC.onlineUsers, roomB.onlineUsers]).toEqual([3, 2]);
    // The plain client on the same node: it reconnects too, but into nothing.
    const raw = await connectClient(n2.url, { reconnection: true });
    expect(await emitWithAck(raw, 'join-channel', guideEnvelope({ roomChannel: 'restart-raw' }, raw))).toEqual({
      ok: true,
      onlineUsers: 1,
    });

    const oldB = b.id;
    const states: MembershipState[][] = [];
    b.on('disconnect', () => states.push(b.memberships().map((m) => m.state)));
    const rejoined = new Promise<RejoinReport>((resolve) => b.once('rejoin', resolve));
    const bRejoins = recordTopic(chB, 'rejoin');
    const aJoins = recordTopic(chA, 'join');
    const aLeaves = recordTopic(chA, 'leave');
    const aMessages = recordTopic(chA, 'message');
    const bMessages = recordTopic(roomB, 'message');

    const disconnected = new Promise((resolve) => b.once('disconnect', resolve));
    await n2.stop(); // SIGKILL
    await disconnected;
    // Sent while the node is down: held until the channel is joined again, then delivered.
    const sentDuringOutage = chB.send('sent while node 2 was down', { timeoutMs: 20_000 });
    const restarted = await startServerProcess({ nodeId: n2.nodeId, redisUrl, keyPrefix, env: { ...RECOVERY_OFF, PORT: String(n2.port) } });
    expect(restarted.port).toBe(n2.port);

    const report = await rejoined;
    expect(states).toEqual([['restoring', 'restoring']]);
    expect(report.lost).toEqual([]);
    expect(report.rejoined.map((m) => [m.kind, m.channel, m.roomId, m.state])).toEqual([
      ['channel', 'restart', null, 'joined'],
      ['room', 'restart', 'r', 'joined'],
    ]);
    expect(b.id).not.toBe(oldB);
    expect(bRejoins).toHaveLength(1);
    await sentDuringOutage;

    // Everyone's counts come back to the truth: 3 in the channel, 2 in the room.
    await vi.waitFor(() => expect([chA, chB, chC].map((h) => h.onlineUsers)).toEqual([3, 3, 3]), { timeout: 15_000 });
    await vi.waitFor(() => expect([roomA, roomB].map((h) => h.onlineUsers)).toEqual([2, 2]), { timeout: 15_000 });
    // Node 1 saw the old connection leave and the new one join.
    await vi.waitFor(() => expect(aLeaves.map((e) => e.clientId)).toContain(oldB));
    await vi.waitFor(() => expect(aJoins.map((e) => e.clientId)).toContain(b.id));
    await vi.waitFor(() => expect(aMessages.map((e) => e.data.message)).toContain('sent while node 2 was down'));

    // Traffic flows both ways again, through the restarted node.
    await roomA.notify('to b after the restart');
    await vi.waitFor(() => expect(bMessages.map((e) => e.data.message)).toEqual(['to b after the restart']));
    const fromB = aMessages.length;
    await chB.send('from b after the restart');
    await vi.waitFor(() =>
      expect(aMessages.slice(fromB).map((e: RelayedEnvelope) => [e.clientId, e.data.message])).toEqual([
        [b.id, 'from b after the restart'],
      ]),
    );
    // A fresh join anywhere counts exactly: nothing was lost and no ghost stayed.
    const d = sdkClient(n3.url);
    expect((await d.joinChannel('restart')).onlineUsers).toBe(4);
    expect((await d.joinRoom('restart', 'r')).onlineUsers).toBe(3);

    // Plain socket.io-client: reconnected (its backoff is up to 5 s), but in nothing.
    await vi.waitFor(() => expect(raw.connected).toBe(true), { timeout: 15_000 });
    expect(await emitWithAck(raw, 'leave-channel', guideEnvelope({ roomChannel: 'restart-raw' }, raw))).toMatchObject({
      ok: false,
      error: { code: 'NOT_A_MEMBER' },
    });
  });
});
