import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  registerTeardown,
  startCluster,
  startTestRedis,
  uniqueKeyPrefix,
  type ServerProcess,
  type Transport,
} from '@realtime/testing';
import type { RealtimeClient } from '../src/index.js';
import { SAMPLE_SOURCE, recordTopic, sdkClient } from './support/sdk-clients.js';

/**
 * The SDK against three real node processes on one Redis, one client per
 * node, so every effect is asserted across nodes; and beside plain
 * socket.io-client clients speaking the guide's protocol by hand.
 */
describe.each([
  ['websocket, polling', ['websocket', 'polling']],
  ['polling', ['polling']],
] as [string, Transport[]][])('the SDK on three nodes (transports: %s)', (_name, transports) => {
  let nodes: ServerProcess[];

  beforeAll(async () => {
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    nodes = await startCluster(3, { redisUrl: redis.url, keyPrefix: uniqueKeyPrefix('sdk') });
  });

  function oneClientPerNode(): [RealtimeClient, RealtimeClient, RealtimeClient] {
    return nodes.map((n) => sdkClient(n.url, { transports })) as [RealtimeClient, RealtimeClient, RealtimeClient];
  }

  it('channels: joinChannel resolves with the count, send reaches every member on every node, leave resolves with the count', async () => {
    const [a, b, c] = oneClientPerNode();
    const chA = await a.joinChannel('chat-42');
    expect(chA.onlineUsers).toBe(1);
    const chB = await b.joinChannel('chat-42');
    expect(chB.onlineUsers).toBe(2);
    const chC = await c.joinChannel('chat-42');
    expect(chC.onlineUsers).toBe(3);
    expect([chA.kind, chA.channel, chA.roomId, chA.state]).toEqual(['channel', 'chat-42', null, 'joined']);

    const messages = [chA, chB, chC].map((ch) => recordTopic(ch, 'message'));
    const leaves = [chA, chB].map((ch) => recordTopic(ch, 'leave'));
    await vi.waitFor(() => expect([chA, chB, chC].map((ch) => ch.onlineUsers)).toEqual([3, 3, 3]));

    await expect(chB.send('hello from node 2')).resolves.toBeUndefined();
    await vi.waitFor(() => expect(messages.map((m) => m.length)).toEqual([1, 1, 1]));
    for (const [envelope] of messages) {
      expect(envelope).toMatchObject({
        clientId: b.id,
        data: { message: 'hello from node 2', roomId: null, roomChannel: 'chat-42' },
        source: { ...SAMPLE_SOURCE, clientId: b.id, channel: 'chat-42' },
      });
    }

    const cId = c.id;
    expect(await chC.leave()).toBe(2);
    expect(chC.state).toBe('left');
    await vi.waitFor(() => expect(leaves.map((l) => l.map((e) => e.clientId))).toEqual([[cId], [cId]]));
    await vi.waitFor(() => expect([chA.onlineUsers, chB.onlineUsers]).toEqual([2, 2]));
    // A left handle refuses without a round trip; leaving again is a no-op.
    await expect(chC.send('from outside')).rejects.toMatchObject({ name: 'RealtimeError', code: 'NOT_A_MEMBER' });
    expect(await chC.leave()).toBeUndefined();
    expect(c.memberships()).toEqual([]);
  });

  it('rooms: ch.joinRoom and rt.joinRoom, notify reaches the room on every node and nothing else', async () => {
    const [a, b, c] = oneClientPerNode();
    const chA = await a.joinChannel('lobby');
    const roomA = await chA.joinRoom('r1');
    expect([roomA.kind, roomA.channel, roomA.roomId, roomA.onlineUsers]).toEqual(['room', 'lobby', 'r1', 1]);
    const roomB = await b.joinRoom('lobby', 'r1');
    expect(roomB.onlineUsers).toBe(2);
    // Room r1 of another channel is another room.
    const otherC = await c.joinRoom('elsewhere', 'r1');
    expect(otherC.onlineUsers).toBe(1);

    const inRoom = [roomA, roomB].map((r) => recordTopic(r, 'message'));
    const inChannel = recordTopic(chA, 'message');
    const inOther = recordTopic(otherC, 'message');
    const roomJoins = recordTopic(roomA, 'join');
    await vi.waitFor(() => expect([roomA.onlineUsers, roomB.onlineUsers]).toEqual([2, 2]));

    await roomB.notify('to r1 only');
    await vi.waitFor(() => expect(inRoom.map((m) => m.map((e) => e.data.message))).toEqual([['to r1 only'], ['to r1 only']]));
    expect(inRoom[0]?.[0]).toMatchObject({ clientId: b.id, data: { roomId: 'r1', roomChannel: 'lobby' } });

    const thirdJoin = await c.joinRoom('lobby', 'r1');
    expect(thirdJoin.onlineUsers).toBe(3);
    await vi.waitFor(() => expect(roomJoins.map((e) => e.clientId)).toContain(c.id));
    expect(await roomB.leave()).toBe(2);
    await vi.waitFor(() => expect(roomA.onlineUsers).toBe(2));
    expect(inChannel).toEqual([]);
    expect(inOther).toEqual([]);
  });

  it('speaks the guide’s wire protocol: a plain socket.io-client member and an SDK member hear each other', async () => {
    const [a] = oneClientPerNode();
    const raw = await connectClient(nodes[2]!.url, { transports });
    expect(await emitWithAck(raw, 'join-channel', guideEnvelope({ roomChannel: 'mixed' }, raw))).toEqual({ ok: true, onlineUsers: 1 });
    const ch = await a.joinChannel('mixed');
    expect(ch.onlineUsers).toBe(2);

    // The SDK emits under the channel id, with the guide's envelope.
    const rawGot = nextEvent<RelayedEnvelope>(raw, 'mixed');
    await ch.send('from the SDK');
    expect(await rawGot).toMatchObject({
      clientId: a.id,
      data: { message: 'from the SDK', roomId: null, roomChannel: 'mixed' },
      source: { ...SAMPLE_SOURCE, clientId: a.id, channel: 'mixed' },
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });

    // Not `once`: the SDK's own message may reach it after its ack, before this one.
    const sdkGot = new Promise<RelayedEnvelope>((resolve) => ch.on('message', (e) => e.clientId === raw.id && resolve(e)));
    raw.emit('mixed', guideEnvelope({ roomChannel: 'mixed', message: 'from plain socket.io' }, raw));
    expect((await sdkGot).data.message).toBe('from plain socket.io');
  });

  it('the joiner hears its own join, with listeners attached after the await', async () => {
    const [a, b] = oneClientPerNode();
    const chB = await b.joinChannel('early');
    // The server sends the joiner its own join-channel before the ack.
    const chA = await a.joinChannel('early');
    const joins = recordTopic(chA, 'join');
    const counts = recordTopic(chA, 'online-users');
    await vi.waitFor(() => expect(joins.map((e) => e.clientId)).toContain(a.id));
    await vi.waitFor(() => expect([counts.at(-1), chA.onlineUsers, chB.onlineUsers]).toEqual([2, 2, 2]));
  });

  it('sends keep their call order', async () => {
    const [a, b] = oneClientPerNode();
    const chA = await a.joinChannel('ordered');
    const chB = await b.joinChannel('ordered');
    const got = recordTopic(chA, 'message');
    const texts = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await Promise.all(texts.map((t) => chB.send(t)));
    await vi.waitFor(() => expect(got.map((e) => e.data.message)).toEqual(texts));
  });

  it('joining twice resolves with the same handle and counts once', async () => {
    const [a] = oneClientPerNode();
    const [first, second] = await Promise.all([a.joinChannel('twice'), a.joinChannel('twice')]);
    expect(first).toBe(second);
    expect(await a.joinChannel('twice')).toBe(first);
    expect(a.memberships()).toEqual([{ kind: 'channel', channel: 'twice', roomId: null, state: 'joined', onlineUsers: 1 }]);
  });
});
