import type { RealtimeSocket } from '../socket-types.js';

/**
 * Sends an event to one connection of this node. Not `socket.emit`: with
 * Socket.IO's connection state recovery on, that routes every private event
 * through the adapter's cross-node broadcast (a Redis publish, and with the
 * sharded adapter a wait for it, then nothing sent at all when Redis fails).
 * A local broadcast to the socket's own room goes straight to it.
 */
export function emitToConnection(socket: RealtimeSocket, event: string, ...args: unknown[]): void {
  socket.nsp.local.to(socket.id).emit(event, ...args);
}
