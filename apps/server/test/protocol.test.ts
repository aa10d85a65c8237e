import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import { ErrorCode, type OnlineUsersEnvelope, type RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  record,
  registerTeardown,
  startTestRedis,
  uniqueKeyPrefix,
} from '@realtime/testing';
import { startTestNode as startNodeWith } from './support/start-test-node.js';
import { channelTopic, roomTopic } from '../src/index.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function joinChannel(socket: Socket, channel: string) {
  return emitWithAck<{ onlineUsers?: number }>(socket, 'join-channel', guideEnvelope({ roomChannel: channel }, socket));
}

async function joinRoom(socket: Socket, channel: string, roomId: string) {
  return emitWithAck<{ onlineUsers?: number }>(socket, 'join-room', guideEnvelope({ roomChannel: channel, roomId }, socket));
}

/**
 * The same protocol suite on a single node in memory (no REDIS_URL) and on
 * a node backed by Redis: both must behave identically for a client.
 */
describe.each(['memory', 'redis'] as const)('on one node with %s state', (backend) => {
  let redisUrl: string | undefined;
  beforeAll(async () => {
    if (backend === 'memory') return;
    const redis = await startTestRedis();
    registerTeardown(() => redis.stop());
    redisUrl = redis.url;
  });

  function startTestNode(env: Record<string, string> = {}) {
    return startNodeWith(redisUrl === undefined ? env : { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: uniqueKeyPrefix('protocol'), ...env });
  }

  describe('the client protocol', () => {
    it('join-channel: acks with the count, tells every member (joiner included) with a server-stamped envelope, announces the count', async () => {
      const { url } = await startTestNode();
      const alice = await connectClient(url);
      const bob = await connectClient(url);
      const aliceJoins = record<RelayedEnvelope>(alice, 'join-channel');
      const aliceCounts = record<OnlineUsersEnvelope>(alice, 'online-users');

      expect(await joinChannel(alice, 'chat-1')).toEqual({ ok: true, onlineUsers: 1 });
      const spoofed = {
        ...guideEnvelope({ roomChannel: 'chat-1' }, bob, 'Bob'),
        clientId: 'someone-else',
        source: { clientId: 'someone-else', userName: 'Bob' },
      };
      expect(await emitWithAck(bob, 'join-channel', spoofed)).toEqual({ ok: true, onlineUsers: 2 });

      await vi.waitFor(() => expect(aliceJoins).toHaveLength(2));
      expect(aliceJoins[0]?.clientId).toBe(alice.id);
      const bobsJoin = aliceJoins[1] as RelayedEnvelope;
      expect(bobsJoin.clientId).toBe(bob.id);
      expect(bobsJoin.source.clientId).toBe(bob.id);
      expect(bobsJoin.source.userName).toBe('Bob');
      expect(bobsJoin.data).toEqual({ message: '', roomId: null, roomChannel: 'chat-1' });
      expect(bobsJoin.serverTime).toMatch(ISO);

      await vi.waitFor(() => expect(aliceCounts.at(-1)?.data.onlineUsers).toBe(2));
      const count = aliceCounts.at(-1) as OnlineUsersEnvelope;
      expect(count.clientId).toBe('server');
      expect(count.source.platform).toBe('server');
      expect(count.data).toMatchObject({ roomChannel: 'chat-1', roomId: null });
      expect(count.serverTime).toMatch(ISO);
    });

    it('joining twice counts once and announces nothing', async () => {
      const { url } = await startTestNode();
      const alice = await connectClient(url);
      const announced = nextEvent<OnlineUsersEnvelope>(alice, 'online-users', (e) => e.data.onlineUsers === 1);
      const ownJoin = nextEvent<RelayedEnvelope>(alice, 'join-channel');
      await joinChannel(alice, 'c');
      // Both announcements of the first join are in before recording starts (join-* follows the ack).
      await Promise.all([announced, ownJoin]);
      const joins = record(alice, 'join-channel');
      const counts = record(alice, 'online-users');
      expect(await joinChannel(alice, 'c')).toEqual({ ok: true, onlineUsers: 1 });
      // A later message on the same connection is delivered after anything the second join could have caused.
      const marker = nextEvent(alice, 'c');
      await emitWithAck(alice, 'c', guideEnvelope({ roomChannel: 'c', message: 'marker' }, alice));
      await marker;
      expect(joins).toEqual([]);
      expect(counts).toEqual([]);
    });

    it('a channel message reaches every member, sender included, under the channel id, with identity stamped', async () => {
      const { url } = await startTestNode();
      const alice = await connectClient(url);
      const bob = await connectClient(url);
      const outsider = await connectClient(url);
      await joinChannel(alice, 'chat-42');
      await joinChannel(bob, 'chat-42');
      const outsiderGot = record(outsider, 'chat-42');
      const toBob = nextEvent<RelayedEnvelope>(bob, 'chat-42');
      const toAlice = nextEvent<RelayedEnvelope>(alice, 'chat-42');
      const sent = { ...guideEnvelope({ roomChannel: 'chat-42', message: 'hello' }, alice), clientId: 'forged' };
      expect(await emitWithAck(alice, 'chat-42', sent)).toEqual({ ok: true });
      const received = await toBob;
      expect((await toAlice).data.message).toBe('hello');
      expect(received.data).toEqual({ message: 'hello', roomId: null, roomChannel: 'chat-42' });
      expect(received.clientId).toBe(alice.id);
      expect(received.source.clientId).toBe(alice.id);
      expect(received.time).toBe(sent.time);
      expect(received.serverTime).toMatch(ISO);
      expect(outsiderGot).toEqual([]);
    });

    it('terse clients work: only data.roomChannel (and data.message to send)', async () => {
      const { url } = await startTestNode();
      const terse = await connectClient(url);
      expect(await emitWithAck(terse, 'join-channel', { data: { roomChannel: 't' } })).toEqual({ ok: true, onlineUsers: 1 });
      const got = nextEvent<RelayedEnvelope>(terse, 't');
      expect(await emitWithAck(terse, 't', { data: { roomChannel: 't', message: '' } })).toEqual({ ok: true });
      const envelope = await got;
      expect(envelope.clientId).toBe(terse.id);
      expect(envelope.source).toEqual({ clientId: terse.id });
      expect(envelope.time).toBe(envelope.serverTime);
    });

    it('leave-channel tells the remaining members and the count; leaving again is NOT_A_MEMBER', async () => {
      const { url } = await startTestNode();
      const alice = await connectClient(url);
      const bob = await connectClient(url);
      const aliceCounts = record<OnlineUsersEnvelope>(alice, 'online-users');
      await joinChannel(alice, 'c');
      await joinChannel(bob, 'c');
      const left = nextEvent<RelayedEnvelope>(alice, 'leave-channel');
      const leave = guideEnvelope({ roomChannel: 'c' }, bob, 'Bob');
      expect(await emitWithAck(bob, 'leave-channel', leave)).toEqual({ ok: true, onlineUsers: 1 });
      expect((await left).clientId).toBe(bob.id);
      await vi.waitFor(() => expect(aliceCounts.at(-1)?.data.onlineUsers).toBe(1));
      const again = await emitWithAck(bob, 'leave-channel', leave);
      expect(again).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_A_MEMBER } });
      // Not a member any more: its messages are refused, not relayed.
      const aliceGot = record(alice, 'c');
      expect(await emitWithAck(bob, 'c', guideEnvelope({ roomChannel: 'c', message: 'x' }, bob))).toMatchObject({
        ok: false,
        error: { code: ErrorCode.NOT_A_MEMBER },
      });
      await emitWithAck(alice, 'c', guideEnvelope({ roomChannel: 'c', message: 'marker' }, alice));
      await vi.waitFor(() => expect(aliceGot).toHaveLength(1));
      expect((aliceGot[0] as RelayedEnvelope).data.message).toBe('marker');
    });

    it('rooms: keyed by channel and room id, independent of channel membership', async () => {
      const { url } = await startTestNode();
      const a1 = await connectClient(url);
      const a2 = await connectClient(url);
      const b1 = await connectClient(url);
      const a1Counts = record<OnlineUsersEnvelope>(a1, 'room-online-users');
      expect(await joinRoom(a1, 'A', 'r1')).toEqual({ ok: true, onlineUsers: 1 });
      const joinSeen = nextEvent<RelayedEnvelope>(a1, 'join-room', (e) => e.clientId === a2.id);
      expect(await joinRoom(a2, 'A', 'r1')).toEqual({ ok: true, onlineUsers: 2 });
      expect((await joinSeen).data).toEqual({ message: '', roomId: 'r1', roomChannel: 'A' });
      expect(await joinRoom(b1, 'B', 'r1')).toEqual({ ok: true, onlineUsers: 1 });
      await vi.waitFor(() => expect(a1Counts.at(-1)?.data).toMatchObject({ onlineUsers: 2, roomId: 'r1', roomChannel: 'A' }));

      const bGot = record(b1, 'notify-room');
      const toA2 = nextEvent<RelayedEnvelope>(a2, 'notify-room');
      const toA1 = nextEvent<RelayedEnvelope>(a1, 'notify-room');
      expect(await emitWithAck(a1, 'notify-room', guideEnvelope({ roomChannel: 'A', roomId: 'r1', message: 'in A/r1' }, a1))).toEqual({
        ok: true,
      });
      expect((await toA2).data).toEqual({ message: 'in A/r1', roomId: 'r1', roomChannel: 'A' });
      expect((await toA1).clientId).toBe(a1.id);

      // Joining a room did not join its channel.
      expect(await emitWithAck(a1, 'A', guideEnvelope({ roomChannel: 'A', message: 'x' }, a1))).toMatchObject({
        ok: false,
        error: { code: 'NOT_A_MEMBER' },
      });
      // Leaving the channel does not leave its rooms.
      await joinChannel(a1, 'A');
      await emitWithAck(a1, 'leave-channel', guideEnvelope({ roomChannel: 'A' }, a1));
      const stillIn = nextEvent<RelayedEnvelope>(a1, 'notify-room', (e) => e.data.message === 'still');
      expect(await emitWithAck(a2, 'notify-room', guideEnvelope({ roomChannel: 'A', roomId: 'r1', message: 'still' }, a2))).toEqual({
        ok: true,
      });
      await stillIn;
      expect(bGot).toEqual([]);

      const leftSeen = nextEvent<RelayedEnvelope>(a1, 'leave-room');
      expect(await emitWithAck(a2, 'leave-room', guideEnvelope({ roomChannel: 'A', roomId: 'r1' }, a2))).toEqual({
        ok: true,
        onlineUsers: 1,
      });
      expect((await leftSeen).clientId).toBe(a2.id);
      await vi.waitFor(() => expect(a1Counts.at(-1)?.data.onlineUsers).toBe(1));
      expect(a1Counts.every((e) => e.data.roomChannel === 'A' && e.data.roomId === 'r1')).toBe(true);
      expect(await emitWithAck(a2, 'leave-room', guideEnvelope({ roomChannel: 'A', roomId: 'r1' }, a2))).toMatchObject({
        ok: false,
        error: { code: 'NOT_A_MEMBER' },
      });
      expect(await emitWithAck(a2, 'notify-room', guideEnvelope({ roomChannel: 'A', roomId: 'r1', message: 'x' }, a2))).toMatchObject({
        ok: false,
        error: { code: 'NOT_A_MEMBER' },
      });
    });

    it('above PRESENCE_EVENTS_MAX_MEMBERS only counts are announced, not join-* / leave-*', async () => {
      const { url } = await startTestNode({ PRESENCE_EVENTS_MAX_MEMBERS: '2' });
      const [a, b, c] = await Promise.all([connectClient(url), connectClient(url), connectClient(url)]);
      const joins = record<RelayedEnvelope>(a, 'join-channel');
      const leaves = record<RelayedEnvelope>(a, 'leave-channel');
      const counts = record<OnlineUsersEnvelope>(a, 'online-users');
      await joinChannel(a, 'big');
      await joinChannel(b, 'big');
      expect(await joinChannel(c, 'big')).toEqual({ ok: true, onlineUsers: 3 });
      await vi.waitFor(() => expect(counts.at(-1)?.data.onlineUsers).toBe(3));
      await emitWithAck(c, 'leave-channel', { data: { roomChannel: 'big' } }); // 3 → 2: not announced
      await emitWithAck(b, 'leave-channel', { data: { roomChannel: 'big' } }); // 2 → 1: announced
      await vi.waitFor(() => expect(leaves.map((e) => e.clientId)).toEqual([b.id]));
      await vi.waitFor(() => expect(counts.at(-1)?.data.onlineUsers).toBe(1));
      expect(joins.map((e) => e.clientId)).toEqual([a.id, b.id]);
    });

    it('a disconnect leaves every channel and room, with envelopes built from what the connection last sent', async () => {
      const { url, node } = await startTestNode();
      const stay = await connectClient(url);
      const go = await connectClient(url);
      await joinChannel(stay, 'c');
      await joinRoom(stay, 'c', 'r');
      await joinChannel(go, 'c');
      await joinRoom(go, 'c', 'r');
      await emitWithAck(go, 'c', guideEnvelope({ roomChannel: 'c', message: 'bye' }, go, 'Leaving Larry'));
      const channelLeave = nextEvent<RelayedEnvelope>(stay, 'leave-channel');
      const roomLeave = nextEvent<RelayedEnvelope>(stay, 'leave-room');
      const channelCount = nextEvent<OnlineUsersEnvelope>(stay, 'online-users', (e) => e.data.onlineUsers === 1);
      const roomCount = nextEvent<OnlineUsersEnvelope>(stay, 'room-online-users', (e) => e.data.onlineUsers === 1);
      const id = go.id;
      go.disconnect();
      const [ch, rm] = await Promise.all([channelLeave, roomLeave]);
      expect(ch).toMatchObject({
        clientId: id,
        data: { roomChannel: 'c', roomId: null, message: '' },
        source: { userName: 'Leaving Larry', clientId: id },
      });
      expect(rm).toMatchObject({ clientId: id, data: { roomChannel: 'c', roomId: 'r', message: '' } });
      await Promise.all([channelCount, roomCount]);
      // The mechanism: the store agrees, and no announcement state is left for topics nobody here is in.
      expect(await node.presence.count('c\u001fc')).toBe(1);
      stay.disconnect();
      await vi.waitFor(async () => expect(await node.presence.count('c\u001fc')).toBe(0));
      await vi.waitFor(() => expect(node.presence.announcedTopics).toBe(0));
    });
  });

  // The guide's clients never pass an ack callback; the protocol must not care.
  describe.each(['with', 'without'] as const)('every event has the same effect %s an ack callback', (style) => {
    /** Emits the way the style says; without an ack, nothing comes back to wait for. */
    async function send(socket: Socket, event: string, payload: unknown): Promise<void> {
      if (style === 'with') {
        expect(await emitWithAck(socket, event, payload)).toMatchObject({ ok: true });
      } else {
        socket.emit(event, payload);
      }
    }

    it('joins and leaves reach presence (store and other members); messages are relayed', async () => {
      const { url, node } = await startTestNode();
      const watcher = await connectClient(url);
      const actor = await connectClient(url);
      await joinChannel(watcher, 'style');
      await joinRoom(watcher, 'style', 'r');
      const channelJoin = nextEvent<RelayedEnvelope>(watcher, 'join-channel', (e) => e.clientId === actor.id);
      const roomJoin = nextEvent<RelayedEnvelope>(watcher, 'join-room', (e) => e.clientId === actor.id);
      const channelCount = nextEvent<OnlineUsersEnvelope>(watcher, 'online-users', (e) => e.data.onlineUsers === 2);
      const roomCount = nextEvent<OnlineUsersEnvelope>(watcher, 'room-online-users', (e) => e.data.onlineUsers === 2);
      await send(actor, 'join-channel', guideEnvelope({ roomChannel: 'style' }, actor));
      await send(actor, 'join-room', guideEnvelope({ roomChannel: 'style', roomId: 'r' }, actor));
      await Promise.all([channelJoin, roomJoin, channelCount, roomCount]);
      // The mechanism: the store holds the membership, not only the local Socket.IO room.
      expect(await node.presence.count(channelTopic('style'))).toBe(2);
      expect(await node.presence.count(roomTopic('style', 'r'))).toBe(2);

      const message = nextEvent<RelayedEnvelope>(watcher, 'style');
      const roomMessage = nextEvent<RelayedEnvelope>(watcher, 'notify-room');
      await send(actor, 'style', guideEnvelope({ roomChannel: 'style', message: 'm' }, actor));
      await send(actor, 'notify-room', guideEnvelope({ roomChannel: 'style', roomId: 'r', message: 'rm' }, actor));
      expect((await message).data.message).toBe('m');
      expect((await roomMessage).data.message).toBe('rm');

      const channelLeave = nextEvent<RelayedEnvelope>(watcher, 'leave-channel', (e) => e.clientId === actor.id);
      const roomLeave = nextEvent<RelayedEnvelope>(watcher, 'leave-room', (e) => e.clientId === actor.id);
      await send(actor, 'leave-channel', guideEnvelope({ roomChannel: 'style' }, actor));
      await send(actor, 'leave-room', guideEnvelope({ roomChannel: 'style', roomId: 'r' }, actor));
      await Promise.all([channelLeave, roomLeave]);
      expect(await node.presence.count(channelTopic('style'))).toBe(1);
      expect(await node.presence.count(roomTopic('style', 'r'))).toBe(1);
    });
  });

  describe('refusals', () => {
    const invalid: [string, unknown, string][] = [
      ['a string payload', 'hello', 'payload must be an object'],
      ['a number payload', 42, 'payload must be an object'],
      ['null', null, 'payload must be an object'],
      ['an array', [1, 2], 'payload must be an object'],
      ['no data', { time: 'x' }, 'data must be an object'],
      ['data as a string', { data: 'c' }, 'data must be an object'],
      ['no roomChannel', { data: { message: '' } }, 'data.roomChannel must be a string'],
      ['roomChannel as a number', { data: { roomChannel: 7 } }, 'data.roomChannel must be a string'],
      ['an empty roomChannel', { data: { roomChannel: '' } }, 'data.roomChannel must be 1-256 characters (code points) long'],
      [
        'a 257-character roomChannel',
        { data: { roomChannel: 'x'.repeat(257) } },
        'data.roomChannel must be 1-256 characters (code points) long',
      ],
      ['a control character', { data: { roomChannel: 'a\nb' } }, 'data.roomChannel must not contain control characters'],
      ['a C1 control character', { data: { roomChannel: 'a\u0085b' } }, 'data.roomChannel must not contain control characters'],
      ['DEL', { data: { roomChannel: 'a\u007fb' } }, 'data.roomChannel must not contain control characters'],
      ['a reserved protocol name', { data: { roomChannel: 'join-room' } }, 'reserved event name'],
      ['a reserved Socket.IO name', { data: { roomChannel: 'disconnect' } }, 'reserved event name'],
      ['the token renewal event', { data: { roomChannel: 'auth-refresh' } }, 'reserved event name'],
      ['the token expiry warning', { data: { roomChannel: 'auth-expiring' } }, 'reserved event name'],
      ['roomId as a number', { data: { roomChannel: 'c', roomId: 5 } }, 'data.roomId must be a string or null'],
      ['message as a number', { data: { roomChannel: 'c', message: 5 } }, 'data.message must be a string'],
      ['time as a number', { data: { roomChannel: 'c' }, time: 1 }, 'time must be a string'],
      ['clientId as an object', { data: { roomChannel: 'c' }, clientId: {} }, 'clientId must be a string'],
      ['source as a string', { data: { roomChannel: 'c' }, source: 'web' }, 'source must be an object of strings'],
      ['a source field that is not a string', { data: { roomChannel: 'c' }, source: { userName: 3 } }, 'source.userName must be a string'],
    ];

    it.each(invalid)('join-channel with %s is INVALID_PAYLOAD naming the field', async (_name, payload, message) => {
      const { url } = await startTestNode();
      const client = await connectClient(url);
      const ack = await emitWithAck(client, 'join-channel', payload);
      expect(ack).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PAYLOAD } });
      expect(ack.ok === false && ack.error.message).toContain(message);
    });

    it('room events need data.roomId; messages need data.message; a channel message must name its own channel', async () => {
      const { url } = await startTestNode();
      const client = await connectClient(url);
      await joinChannel(client, 'c');
      await joinRoom(client, 'c', 'r');
      const cases: [string, unknown, string][] = [
        ['join-room', { data: { roomChannel: 'c' } }, 'data.roomId must be a string'],
        ['join-room', { data: { roomChannel: 'c', roomId: null } }, 'data.roomId must be a string'],
        ['leave-room', { data: { roomChannel: 'c', roomId: '' } }, 'data.roomId must be 1-256'],
        ['notify-room', { data: { roomChannel: 'c', roomId: 'r' } }, 'data.message must be a string'],
        ['c', { data: { roomChannel: 'c' } }, 'data.message must be a string'],
        ['c', { data: { roomChannel: 'other', message: 'x' } }, 'must equal the event name "c"'],
      ];
      for (const [event, payload, message] of cases) {
        const ack = await emitWithAck(client, event, payload);
        expect(ack, `${event} ${JSON.stringify(payload)}`).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
        expect(ack.ok === false && ack.error.message).toContain(message);
      }
      const noArgs = await emitWithAck(client, 'notify-room');
      expect(noArgs).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    });

    it('a message over 64 KiB is PAYLOAD_TOO_LARGE; exactly 64 KiB passes', async () => {
      const { url } = await startTestNode();
      const client = await connectClient(url);
      await joinChannel(client, 'c');
      const big = await emitWithAck(client, 'c', { data: { roomChannel: 'c', message: 'x'.repeat(64 * 1024 + 1) } });
      expect(big).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
      // Multi-byte characters count as their UTF-8 size.
      const wide = await emitWithAck(client, 'c', { data: { roomChannel: 'c', message: '\u00e9'.repeat(32 * 1024 + 1) } });
      expect(wide).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
      expect(await emitWithAck(client, 'c', { data: { roomChannel: 'c', message: 'x'.repeat(64 * 1024) } })).toEqual({ ok: true });
    });

    it('a connection may be in at most MAX_SUBSCRIPTIONS_PER_CONNECTION channels + rooms', async () => {
      const { url } = await startTestNode({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' });
      const client = await connectClient(url);
      await joinChannel(client, 'c1');
      await joinChannel(client, 'c2');
      await joinRoom(client, 'c1', 'r');
      expect(await joinRoom(client, 'c1', 'r2')).toMatchObject({ ok: false, error: { code: ErrorCode.LIMIT_EXCEEDED } });
      expect(await joinChannel(client, 'c3')).toMatchObject({ ok: false, error: { code: ErrorCode.LIMIT_EXCEEDED } });
      await emitWithAck(client, 'leave-channel', { data: { roomChannel: 'c2' } });
      expect(await joinChannel(client, 'c3')).toEqual({ ok: true, onlineUsers: 1 });
    });

    it('a connection sending faster than its rate is RATE_LIMITED, and others are not', async () => {
      const { url } = await startTestNode({ RATE_LIMIT_EVENTS_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
      const fast = await connectClient(url);
      const calm = await connectClient(url);
      const acks = await Promise.all(Array.from({ length: 5 }, () => joinChannel(fast, 'c')));
      expect(acks.filter((a) => a.ok)).toHaveLength(3);
      expect(acks.filter((a) => !a.ok)).toEqual([
        { ok: false, error: { code: ErrorCode.RATE_LIMITED, message: expect.stringContaining('per second') } },
        { ok: false, error: { code: ErrorCode.RATE_LIMITED, message: expect.stringContaining('per second') } },
      ]);
      expect(await joinChannel(calm, 'c')).toEqual({ ok: true, onlineUsers: 2 });
    });

    it('refuses without an ack just the same: nothing relayed, the connection stays usable', async () => {
      const { url } = await startTestNode();
      const sender = await connectClient(url);
      const receiver = await connectClient(url);
      await joinChannel(sender, 'c');
      await joinChannel(receiver, 'c');
      const got = record<RelayedEnvelope>(receiver, 'c');
      sender.emit('c', { data: { roomChannel: 'other', message: 'wrong channel' } });
      sender.emit('c', { data: { roomChannel: 'c', message: 7 } });
      sender.emit('c', 'not an envelope');
      sender.emit('c', { data: { roomChannel: 'c', message: 'ok' } });
      await vi.waitFor(() => expect(got).toHaveLength(1));
      expect(got[0]?.data.message).toBe('ok');
    });

    it('survives hostile event names and frames: `error`, a numeric event, a frame over maxHttpBufferSize', async () => {
      const { url } = await startTestNode({ MAX_HTTP_BUFFER_SIZE_BYTES: '100000' });
      const hostile = await connectClient(url);
      const bystander = await connectClient(url);
      await joinChannel(bystander, 'c');
      expect(await emitWithAck(hostile, 'error', { data: { roomChannel: 'error', message: 'x' } })).toMatchObject({
        ok: false,
        error: { code: 'INVALID_PAYLOAD', message: expect.stringContaining('reserved') },
      });
      // socket.io-client types forbid a numeric event name; the wire allows it.
      const numeric = await (hostile.timeout(5000) as unknown as { emitWithAck(e: unknown, p: unknown): Promise<unknown> }).emitWithAck(
        12,
        { data: { roomChannel: 'c' } },
      );
      expect(numeric).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD', message: 'the event name must be a string' } });

      const closed = new Promise<string>((resolve) => hostile.once('disconnect', (reason) => resolve(reason)));
      hostile.emit('c', { data: { roomChannel: 'c', message: 'x'.repeat(200_000) } });
      expect(await closed).toMatch(/transport (close|error)/);
      // The node and everyone else carry on.
      const got = nextEvent<RelayedEnvelope>(bystander, 'c');
      expect(await emitWithAck(bystander, 'c', { data: { roomChannel: 'c', message: 'still here' } })).toEqual({ ok: true });
      expect((await got).data.message).toBe('still here');
    });
  });
});
