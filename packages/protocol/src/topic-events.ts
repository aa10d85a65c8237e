import { ProtocolEvent } from './event-names.js';
import type { ServerToClientEventName } from './events.js';

/**
 * Which event does what for a channel and for a room: the one mapping the
 * server emits by and the SDK listens and sends by.
 */

/** A topic is a channel or a room (a room is named by its channel and its id). */
export type TopicKind = 'channel' | 'room';

/** What a server → client event says about its topic. */
export type TopicEventRole = 'join' | 'leave' | 'online-users' | 'message';

interface TopicEventNames {
  /** Client → server to join, and server → client to announce a join. */
  readonly join: 'join-channel' | 'join-room';
  /** Client → server to leave, and server → client to announce a leave. */
  readonly leave: 'leave-channel' | 'leave-room';
  /** Server → client: the topic's cluster-wide count. */
  readonly onlineUsers: 'online-users' | 'room-online-users';
}

export const TOPIC_EVENTS: { readonly channel: TopicEventNames; readonly room: TopicEventNames } = Object.freeze({
  channel: Object.freeze({ join: ProtocolEvent.JoinChannel, leave: ProtocolEvent.LeaveChannel, onlineUsers: ProtocolEvent.OnlineUsers }),
  room: Object.freeze({ join: ProtocolEvent.JoinRoom, leave: ProtocolEvent.LeaveRoom, onlineUsers: ProtocolEvent.RoomOnlineUsers }),
});

export function joinEventOf(topic: { kind: TopicKind }): TopicEventNames['join'] {
  return TOPIC_EVENTS[topic.kind].join;
}

export function leaveEventOf(topic: { kind: TopicKind }): TopicEventNames['leave'] {
  return TOPIC_EVENTS[topic.kind].leave;
}

export function onlineUsersEventOf(topic: { kind: TopicKind }): TopicEventNames['onlineUsers'] {
  return TOPIC_EVENTS[topic.kind].onlineUsers;
}

/** The event a message to the topic travels under, both ways: the channel id itself, or `notify-room`. */
export function messageEventOf(topic: { kind: TopicKind; channel: string }): string {
  return topic.kind === 'channel' ? topic.channel : ProtocolEvent.NotifyRoom;
}

/**
 * The other direction: the kind and role of each named server → client
 * event. A channel message has no fixed name (it is the channel id), so it
 * is not here: any other event is one.
 */
export const SERVER_EVENT_ROLES: { readonly [E in ServerToClientEventName]: { readonly kind: TopicKind; readonly role: TopicEventRole } } =
  Object.freeze({
    'join-channel': { kind: 'channel', role: 'join' },
    'leave-channel': { kind: 'channel', role: 'leave' },
    'online-users': { kind: 'channel', role: 'online-users' },
    'join-room': { kind: 'room', role: 'join' },
    'leave-room': { kind: 'room', role: 'leave' },
    'notify-room': { kind: 'room', role: 'message' },
    'room-online-users': { kind: 'room', role: 'online-users' },
  });
