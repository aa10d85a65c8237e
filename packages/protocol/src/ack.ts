import type { ErrorCode, ProtocolError } from './errors.js';

/** Successful acknowledgement; joins carry the cluster-wide count. */
export type AckSuccess<T extends object = object> = { ok: true } & T;

export interface AckFailure {
  ok: false;
  error: ProtocolError;
}

export type Ack<T extends object = object> = AckSuccess<T> | AckFailure;

/**
 * Ack of `join-channel` / `join-room`. `onlineUsers` is the cluster-wide
 * count right after the join; absent only while the cluster store is
 * unreachable (the join still succeeds locally).
 */
export type JoinAck = Ack<{ onlineUsers?: number }>;

export function ackFailure(code: ErrorCode, message: string): AckFailure {
  return { ok: false, error: { code, message } };
}
