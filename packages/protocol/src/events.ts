import type { Ack, JoinAck } from './ack.js';
import type { AuthExpiring, AuthRefreshAck, AuthRefreshRequest } from './auth-refresh.js';
import type { ServerClose } from './server-close.js';
import type { ClientEnvelope, OnlineUsersEnvelope, RelayedEnvelope } from './envelope.js';

/**
 * Typed maps of the wire events, in Socket.IO's event-map form (the last
 * parameter of a client → server event is its acknowledgement). Every
 * event accepts an ack and has the same effect without one.
 */

/** Answers a `join-*` or `leave-*`: the cluster-wide count after the change. */
export type CountAckCallback = (response: JoinAck) => void;
/** Answers a channel message or `notify-room`. */
export type SendAckCallback = (response: Ack) => void;

/** Client → server control events. */
export interface ClientToServerEvents {
  'join-channel': (envelope: ClientEnvelope, ack?: CountAckCallback) => void;
  'leave-channel': (envelope: ClientEnvelope, ack?: CountAckCallback) => void;
  'join-room': (envelope: ClientEnvelope, ack?: CountAckCallback) => void;
  'leave-room': (envelope: ClientEnvelope, ack?: CountAckCallback) => void;
  'notify-room': (envelope: ClientEnvelope, ack?: SendAckCallback) => void;
  /** A new token for this connection (same `sub`): see auth-refresh.ts. Not an envelope. */
  'auth-refresh': (request: AuthRefreshRequest, ack?: (response: AuthRefreshAck) => void) => void;
}

/**
 * A channel message, client → server: emitted under the channel id itself,
 * with `data.roomChannel` equal to it. Any event name that is not a
 * control event is one.
 */
export type ChannelMessageEmit = (envelope: ClientEnvelope, ack?: SendAckCallback) => void;

/** Server → client events of the protocol. */
export interface ServerToClientEvents {
  'join-channel': (envelope: RelayedEnvelope) => void;
  'leave-channel': (envelope: RelayedEnvelope) => void;
  'online-users': (envelope: OnlineUsersEnvelope) => void;
  'join-room': (envelope: RelayedEnvelope) => void;
  'leave-room': (envelope: RelayedEnvelope) => void;
  'notify-room': (envelope: RelayedEnvelope) => void;
  'room-online-users': (envelope: OnlineUsersEnvelope) => void;
}

/** Server → client events about the connection itself, not a topic (not envelopes). */
export interface ServerToClientConnectionEvents {
  /** The connection's token expires at `expiresAt`: send `auth-refresh` before then. */
  'auth-expiring': (payload: AuthExpiring) => void;
  /** The server is about to close the connection, and says why. */
  'server-close': (close: ServerClose) => void;
}

/** A channel message, server → client: under the channel id, to every member, the sender included. */
export type ChannelMessageListener = (envelope: RelayedEnvelope) => void;

export type ClientToServerEventName = keyof ClientToServerEvents;
export type ServerToClientEventName = keyof ServerToClientEvents;

/** The payload of a server → client event. */
export type ServerEventPayload<E extends ServerToClientEventName> = Parameters<ServerToClientEvents[E]>[0];
/** The acknowledgement a client → server event is answered with. */
export type ClientEventAck<E extends ClientToServerEventName> = Parameters<NonNullable<Parameters<ClientToServerEvents[E]>[1]>>[0];
