import { ErrorCode } from '@realtime/protocol';
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
 */
export function allowOneSocketPerConnection(io: RealtimeServer, metrics: Metrics): void {
  const holder = new WeakMap<object, string>();
  io.use((socket, next) => {
    const current = holder.get(socket.conn);
    if (current !== undefined && io.of('/').sockets.has(current)) {
      metrics.refusedEvents.inc({ code: ErrorCode.CONNECTION_LIMIT });
      const err = new Error(ErrorCode.CONNECTION_LIMIT) as Error & { data: unknown };
      err.data = { code: ErrorCode.CONNECTION_LIMIT, message: 'this connection already has a socket: open another connection instead' };
      return next(err);
    }
    holder.set(socket.conn, socket.id);
    socket.once('disconnect', () => {
      if (holder.get(socket.conn) === socket.id) holder.delete(socket.conn);
    });
    next();
  });
}
