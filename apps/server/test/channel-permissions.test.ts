import { beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import { connectClient, emitWithAck, guideEnvelope, nextEvent, record, startServerProcess, type ServerProcess } from '@realtime/testing';
import { HS_SECRET, signToken } from './support/tokens.js';

/**
 * Channel and room permissions (trust issue, section 2) on a node process:
 * the token's grants (here under AUTH_CHANNELS_CLAIM=rt_channels) or
 * AUTH_DEFAULT_CHANNELS decide join-channel / join-room (`join`) and channel
 * messages / notify-room (`publish`); a room inherits its channel's rights;
 * the permission check comes before the membership check; a refusal is
 * FORBIDDEN and nothing is relayed or joined, with or without an ack.
 */

const GRANTS = { 'chat-*': ['join', 'publish'], 'chat-readonly-*': ['join', 'moderate'], news: ['join'] };
const FORBIDDEN = { ok: false, error: { code: 'FORBIDDEN', message: expect.any(String) } };

const room = (socket: Socket, roomChannel: string, roomId: string, message = '') => guideEnvelope({ roomChannel, roomId, message }, socket);
const channel = (socket: Socket, roomChannel: string, message = '') => guideEnvelope({ roomChannel, message }, socket);

describe('channel permissions', () => {
  let node: ServerProcess;
  let restricted: Socket;
  let observer: Socket;
  beforeAll(async () => {
    node = await startServerProcess({
      nodeId: 'auth-permissions',
      env: {
        AUTH_MODE: 'optional',
        AUTH_JWT_SECRET: HS_SECRET,
        AUTH_CHANNELS_CLAIM: 'rt_channels',
        AUTH_NAME_CLAIM: 'display_name',
        AUTH_DEFAULT_CHANNELS: '{"public-*": ["join"]}',
      },
    });
    restricted = await connectClient(node.url, {
      auth: { token: await signToken(HS_SECRET, { sub: 'restricted', display_name: 'Restricted', rt_channels: GRANTS }) },
    });
    observer = await connectClient(node.url, {
      auth: { token: await signToken(HS_SECRET, { sub: 'observer', rt_channels: { '*': ['join', 'publish'] } }) },
    });
  }, 30_000);

  it('join and publish where the winning pattern allows them, with the token name as userName', async () => {
    expect(await emitWithAck(observer, 'join-channel', channel(observer, 'chat-1'))).toMatchObject({ ok: true });
    expect(await emitWithAck(restricted, 'join-channel', channel(restricted, 'chat-1'))).toMatchObject({ ok: true, onlineUsers: 2 });
    const seen = nextEvent<RelayedEnvelope>(observer, 'chat-1');
    expect(await emitWithAck(restricted, 'chat-1', channel(restricted, 'chat-1', 'hello'))).toEqual({ ok: true });
    expect((await seen).source).toMatchObject({ userId: 'restricted', userName: 'Restricted' });
  });

  it('an exact id grants only its operations: join news, but publishing to it is FORBIDDEN and not relayed', async () => {
    expect(await emitWithAck(observer, 'join-channel', channel(observer, 'news'))).toMatchObject({ ok: true });
    expect(await emitWithAck(restricted, 'join-channel', channel(restricted, 'news'))).toMatchObject({ ok: true });
    const relayed = record<RelayedEnvelope>(observer, 'news');
    expect(await emitWithAck(restricted, 'news', channel(restricted, 'news', 'breaking'))).toEqual(FORBIDDEN);
    // Without an ack: the same refusal, silently.
    restricted.emit('news', channel(restricted, 'news', 'breaking, unacked'));
    // A later allowed message on the same connection arrives after anything relayed before it.
    const later = nextEvent<RelayedEnvelope>(observer, 'chat-1', (e) => e.data.message === 'after');
    restricted.emit('chat-1', channel(restricted, 'chat-1', 'after'));
    await later;
    expect(relayed).toEqual([]);
  });

  it('the most specific pattern wins alone: chat-readonly-* joins but does not publish (unknown operations ignored)', async () => {
    expect(await emitWithAck(restricted, 'join-channel', channel(restricted, 'chat-readonly-1'))).toMatchObject({ ok: true });
    expect(await emitWithAck(restricted, 'chat-readonly-1', channel(restricted, 'chat-readonly-1', 'x'))).toEqual(FORBIDDEN);
  });

  it('no matching pattern: join-channel is FORBIDDEN and the connection is not joined, with or without an ack', async () => {
    expect(await emitWithAck(observer, 'join-channel', channel(observer, 'secret'))).toMatchObject({ ok: true, onlineUsers: 1 });
    const joins = record<RelayedEnvelope>(observer, 'join-channel');
    expect(await emitWithAck(restricted, 'join-channel', channel(restricted, 'secret'))).toEqual(FORBIDDEN);
    restricted.emit('join-channel', channel(restricted, 'secret'));
    // Events of one connection are handled in order: once this is answered, the unacked join was handled.
    expect(await emitWithAck(restricted, 'join-channel', channel(restricted, 'secret'))).toEqual(FORBIDDEN);
    // Joining again is answered with the cluster-wide count: still only the observer.
    expect(await emitWithAck(observer, 'join-channel', channel(observer, 'secret'))).toMatchObject({ ok: true, onlineUsers: 1 });
    expect(joins.filter((e) => e.data.roomChannel === 'secret' && e.clientId === restricted.id)).toEqual([]);
  });

  it('the permission check comes before the membership check', async () => {
    // Not a member of either: publish is refused as FORBIDDEN where not granted, NOT_A_MEMBER where granted.
    expect(await emitWithAck(restricted, 'chat-readonly-2', channel(restricted, 'chat-readonly-2', 'x'))).toEqual(FORBIDDEN);
    expect(await emitWithAck(restricted, 'secret', channel(restricted, 'secret', 'x'))).toEqual(FORBIDDEN);
    expect(await emitWithAck(restricted, 'chat-2', channel(restricted, 'chat-2', 'x'))).toMatchObject({
      ok: false,
      error: { code: 'NOT_A_MEMBER' },
    });
    expect(await emitWithAck(restricted, 'notify-room', room(restricted, 'secret', 'r', 'x'))).toEqual(FORBIDDEN);
  });

  it("a room inherits its channel's rights: join-room needs join, notify-room needs publish", async () => {
    expect(await emitWithAck(observer, 'join-room', room(observer, 'news', 'desk'))).toMatchObject({ ok: true });
    expect(await emitWithAck(restricted, 'join-room', room(restricted, 'news', 'desk'))).toMatchObject({ ok: true });
    const notified = record<RelayedEnvelope>(observer, 'notify-room');
    expect(await emitWithAck(restricted, 'notify-room', room(restricted, 'news', 'desk', 'x'))).toEqual(FORBIDDEN);
    restricted.emit('notify-room', room(restricted, 'news', 'desk', 'unacked'));
    expect(await emitWithAck(restricted, 'join-room', room(restricted, 'secret', 'vault'))).toEqual(FORBIDDEN);

    expect(await emitWithAck(observer, 'join-room', room(observer, 'chat-1', 'r1'))).toMatchObject({ ok: true });
    expect(await emitWithAck(restricted, 'join-room', room(restricted, 'chat-1', 'r1'))).toMatchObject({ ok: true });
    const allowed = nextEvent<RelayedEnvelope>(observer, 'notify-room', (e) => e.data.roomId === 'r1');
    restricted.emit('notify-room', room(restricted, 'chat-1', 'r1', 'allowed'));
    expect((await allowed).source.userId).toBe('restricted');
    expect(notified.filter((e) => e.data.roomChannel === 'news')).toEqual([]);
  });

  it('anonymous connections and tokens without the claim get AUTH_DEFAULT_CHANNELS', async () => {
    const anonymous = await connectClient(node.url);
    const unclaimed = await connectClient(node.url, { auth: { token: await signToken(HS_SECRET, { sub: 'plain' }) } });
    for (const socket of [anonymous, unclaimed]) {
      expect(await emitWithAck(socket, 'join-channel', channel(socket, 'public-1'))).toMatchObject({ ok: true });
      expect(await emitWithAck(socket, 'public-1', channel(socket, 'public-1', 'x'))).toEqual(FORBIDDEN);
      expect(await emitWithAck(socket, 'join-channel', channel(socket, 'chat-1'))).toEqual(FORBIDDEN);
    }
  });

  it('FORBIDDEN refusals are counted', async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    expect(text).toMatch(/realtime_refused_events_total\{code="FORBIDDEN"\} [1-9]/);
  });
});
