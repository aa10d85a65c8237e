import { ErrorCode } from '@realtime/protocol';
import { refuseHandshake } from './handshake-refusal.js';
import type { Metrics } from './metrics.js';
import type { RealtimeServer } from './socket-types.js';

/**
 * One Socket.IO socket per Engine.IO connection on the namespace. Socket.IO
 * creates a new socket for every namespace CONNECT packet, even a repeated
 * one on the same connection, so one TCP connection could otherwise hold
 * thousands of sockets (each with its state, its rooms, its presence). A
 * real client connects once per connection (socket.io-client multiplexes
 * by namespace, and this server has one); it may reconnect the namespace
 * after leaving it, since the first socket is then gone.
 * Register it after every other namespace middleware.
 */
export function allowOneSocketPerConnection(io: RealtimeServer, metrics: Metrics): void {
  const holder = new WeakMap<object, string>();
  io.use((socket, next) => {
    // Set from this check until the socket disconnects: Socket.IO connects a
    // socket a tick after its middlewares pass, and CONNECT packets that
    // arrive in between must see it. Registered last, so nothing after this
    // check can refuse the socket and leave the mark behind.
    if (holder.has(socket.conn)) {
      metrics.refusedEvents.inc({ code: ErrorCode.CONNECTION_LIMIT });
      // Through refuseHandshake: the user's connection slot taken before this check is given back.
      return refuseHandshake(
        socket,
        next,
        ErrorCode.CONNECTION_LIMIT,
        'this connection already has a socket: open another connection instead',
      );
    }
    holder.set(socket.conn, socket.id);
    socket.once('disconnect', () => {
      if (holder.get(socket.conn) === socket.id) holder.delete(socket.conn);
    });
    next();
  });
}
