import {
  SERVER_CLIENT_ID,
  type ClientEnvelope,
  type EnvelopeSource,
  type OnlineUsersEnvelope,
  type RelayedEnvelope,
} from '@realtime/protocol';
import type { Topic } from './topics.js';

/**
 * Who sent what, as the server knows it: kept per connection from its last
 * envelope so a disconnect (or a reap by another node) can still say who left.
 */
export interface SenderIdentity {
  time?: string;
  source?: EnvelopeSource;
}

/** The identity the handshake established: the token's `sub` and name claim (both absent when anonymous). */
export interface VerifiedIdentity {
  readonly userId: string | undefined;
  readonly userName: string | undefined;
}

/**
 * Stamps a validated client envelope for relaying: identity is the socket's,
 * whatever the client wrote; `serverTime` is now. `source.userId` is the
 * token's `sub` or absent, never what the client sent (stripped also with
 * auth off); a token's name replaces the client's `source.userName`.
 * Builds a new object once; it is encoded once per node by the adapter.
 */
export function stampEnvelope(
  envelope: ClientEnvelope,
  socketId: string,
  serverTime: string,
  verified: VerifiedIdentity,
): RelayedEnvelope {
  const source: RelayedEnvelope['source'] = { ...envelope.source, clientId: socketId };
  delete source.userId;
  if (verified.userId !== undefined) source.userId = verified.userId;
  if (verified.userName !== undefined) source.userName = verified.userName;
  return {
    data: envelope.data,
    time: envelope.time ?? serverTime,
    clientId: socketId,
    source,
    serverTime,
  };
}

/** The `leave-*` envelope the server writes for a connection that left without saying so. */
export function leaveEnvelope(topic: Topic, socketId: string, identity: SenderIdentity | undefined, serverTime: string): RelayedEnvelope {
  return {
    data: { message: '', roomId: topic.roomId, roomChannel: topic.channel },
    time: identity?.time ?? serverTime,
    clientId: socketId,
    source: { ...identity?.source, clientId: socketId },
    serverTime,
  };
}

export function onlineUsersEnvelope(topic: Topic, onlineUsers: number, serverTime: string): OnlineUsersEnvelope {
  return {
    data: { message: '', roomId: topic.roomId, roomChannel: topic.channel, onlineUsers },
    time: serverTime,
    clientId: SERVER_CLIENT_ID,
    source: { platform: 'server', clientId: SERVER_CLIENT_ID, channel: topic.channel },
    serverTime,
  };
}

/** What the store keeps with a membership: the identity, and when the join happened (server time). */
export interface MembershipMeta extends SenderIdentity {
  joinedAt?: string;
}

/** Presence meta: what a reaping node needs to write this connection's `leave-*` envelopes, and what member lists show. */
export function encodeIdentity(identity: SenderIdentity, joinedAt?: string): string {
  // Only these fields: the meta is stored with every membership in Redis.
  return JSON.stringify({ time: identity.time, source: identity.source, joinedAt });
}

export function decodeIdentity(meta: string): MembershipMeta {
  try {
    const parsed: unknown = JSON.parse(meta);
    if (typeof parsed === 'object' && parsed !== null) return parsed;
  } catch {
    // Meta written by another version or damaged: the leave still goes out, without identity.
  }
  return {};
}
