import type { ErrorCode } from '@realtime/protocol';
import type { RealtimeSocket } from './socket-types.js';

/** What a namespace middleware passes to `next` to refuse: socket.io-client's `connect_error` gets `message` and `data`. */
export type HandshakeRefusal = Error & { data: { code: ErrorCode; message: string } };

export function handshakeRefusal(code: ErrorCode, message: string): HandshakeRefusal {
  const err = new Error(code) as HandshakeRefusal;
  err.data = { code, message };
  return err;
}

/** What earlier middlewares took for a socket and must give back if a later one refuses it. */
const undoers = new WeakMap<RealtimeSocket, (() => void)[]>();

/**
 * Registers `undo` to run if a middleware after the caller refuses `socket`
 * through `refuseHandshake`. Socket.IO itself tells nobody when a later
 * middleware refuses, so every middleware that can refuse after one that
 * takes something (a connection slot) refuses through `refuseHandshake`.
 */
export function undoIfRefused(socket: RealtimeSocket, undo: () => void): void {
  const list = undoers.get(socket);
  if (list === undefined) undoers.set(socket, [undo]);
  else list.push(undo);
}

/** Refuses the handshake after undoing what earlier middlewares took for it. */
export function refuseHandshake(socket: RealtimeSocket, next: (err?: Error) => void, code: ErrorCode, message: string): void {
  const list = undoers.get(socket);
  undoers.delete(socket);
  for (const undo of list ?? []) undo();
  next(handshakeRefusal(code, message));
}
