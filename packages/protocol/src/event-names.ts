/**
 * Event names of the wire contract (see the client integration guide).
 * Client → server and server → client share names: a client emits
 * `join-channel` and every member of the channel receives `join-channel`.
 */
export const ProtocolEvent = {
  JoinChannel: 'join-channel',
  LeaveChannel: 'leave-channel',
  OnlineUsers: 'online-users',
  JoinRoom: 'join-room',
  LeaveRoom: 'leave-room',
  NotifyRoom: 'notify-room',
  RoomOnlineUsers: 'room-online-users',
} as const;

export type ProtocolEventName = (typeof ProtocolEvent)[keyof typeof ProtocolEvent];

/** Server → client, just before the server closes the connection: why (see server-close.ts). */
export const SERVER_CLOSE_EVENT = 'server-close';

/** Server → client, before the connection's token expires: `{ expiresAt }` (see auth-refresh.ts). */
export const AUTH_EXPIRING_EVENT = 'auth-expiring';

/** Client → server, at any time: `{ token }`, a new token for the same connection (see auth-refresh.ts). */
export const AUTH_REFRESH_EVENT = 'auth-refresh';

/** Events a client may emit that are not channel messages. */
export const CLIENT_CONTROL_EVENTS: ReadonlySet<string> = new Set<string>([
  ProtocolEvent.JoinChannel,
  ProtocolEvent.LeaveChannel,
  ProtocolEvent.JoinRoom,
  ProtocolEvent.LeaveRoom,
  ProtocolEvent.NotifyRoom,
  AUTH_REFRESH_EVENT,
]);

/**
 * Names a channel may not take: a channel message is emitted under the
 * channel id, so a channel named like a protocol or Socket.IO/EventEmitter
 * event would be ambiguous or dangerous.
 */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set<string>([
  ...Object.values(ProtocolEvent),
  SERVER_CLOSE_EVENT,
  AUTH_EXPIRING_EVENT,
  AUTH_REFRESH_EVENT,
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
  'error',
  'message',
  'ping',
  'pong',
]);
