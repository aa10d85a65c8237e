import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ProtocolEvent,
  SERVER_EVENT_ROLES,
  TOPIC_EVENTS,
  joinEventOf,
  leaveEventOf,
  messageEventOf,
  onlineUsersEventOf,
  type ClientEventAck,
  type JoinAck,
  type OnlineUsersEnvelope,
  type RelayedEnvelope,
  type ServerEventPayload,
  type ServerToClientEventName,
} from '../src/index.js';

describe('the topic → event mapping', () => {
  it('channels and rooms have their own join, leave and count events', () => {
    expect([joinEventOf({ kind: 'channel' }), leaveEventOf({ kind: 'channel' }), onlineUsersEventOf({ kind: 'channel' })]).toEqual([
      'join-channel',
      'leave-channel',
      'online-users',
    ]);
    expect([joinEventOf({ kind: 'room' }), leaveEventOf({ kind: 'room' }), onlineUsersEventOf({ kind: 'room' })]).toEqual([
      'join-room',
      'leave-room',
      'room-online-users',
    ]);
  });

  it('a channel message travels under the channel id, a room message as notify-room', () => {
    expect(messageEventOf({ kind: 'channel', channel: 'chat-42' })).toBe('chat-42');
    expect(messageEventOf({ kind: 'room', channel: 'chat-42' })).toBe('notify-room');
  });

  it('the reverse map names every server → client protocol event, and agrees with the forward one', () => {
    const named = new Set<string>(Object.values(ProtocolEvent));
    expect(new Set(Object.keys(SERVER_EVENT_ROLES))).toEqual(named);
    for (const [event, { kind, role }] of Object.entries(SERVER_EVENT_ROLES)) {
      const forward = {
        join: TOPIC_EVENTS[kind].join,
        leave: TOPIC_EVENTS[kind].leave,
        'online-users': TOPIC_EVENTS[kind].onlineUsers,
        message: 'notify-room',
      };
      expect(forward[role]).toBe(event);
      if (role === 'message') expect(kind).toBe('room');
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(TOPIC_EVENTS)).toBe(true);
    expect(Object.isFrozen(TOPIC_EVENTS.channel)).toBe(true);
    expect(Object.isFrozen(SERVER_EVENT_ROLES)).toBe(true);
  });

  it('the event maps type each payload and ack', () => {
    expectTypeOf<ServerEventPayload<'online-users'>>().toEqualTypeOf<OnlineUsersEnvelope>();
    expectTypeOf<ServerEventPayload<'notify-room'>>().toEqualTypeOf<RelayedEnvelope>();
    expectTypeOf<ClientEventAck<'join-room'>>().toEqualTypeOf<JoinAck>();
    expectTypeOf<(typeof TOPIC_EVENTS)['room']['onlineUsers']>().toExtend<ServerToClientEventName>();
  });
});
