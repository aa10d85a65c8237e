import type { Logger } from 'pino';
import { ErrorCode } from '@realtime/protocol';
import type { ConnectionSlots } from './connection-slots.js';
import { handshakeRefusal, undoIfRefused } from './handshake-refusal.js';
import type { Metrics } from './metrics.js';
import type { RealtimeServer, RealtimeSocket } from './socket-types.js';

/**
 * MAX_CONNECTIONS_PER_USER as a namespace middleware, registered right
 * after authentication (it needs `socket.data.principal`). An authenticated
 * connection takes one of its user's slots before it exists; past the limit
 * the handshake is refused with `connect_error` CONNECTION_LIMIT
 * (`data: { code, message }`), counted in realtime_auth_refusals_total.
 * Anonymous connections take no slot. Guarantee: a taken slot is given back
 * exactly once, whichever way the connection ends: its `disconnect`, its
 * Engine.IO connection closing before the socket connected (the client went
 * away during the handshake, when Socket.IO drops the socket silently), or
 * a later middleware refusing it (through refuseHandshake).
 */
export function limitConnectionsPerUser(io: RealtimeServer, slots: ConnectionSlots, limit: number, metrics: Metrics, logger: Logger): void {
  const message = `this user already has ${limit} connection${limit === 1 ? '' : 's'} (MAX_CONNECTIONS_PER_USER): close one, or retry later`;
  io.use((socket, next) => {
    const userId = socket.data.principal.userId;
    if (userId === undefined) return next();
    slots.acquire(userId, socket.id).then(
      (taken) => {
        if (!taken) {
          metrics.authRefusals.inc({ code: ErrorCode.CONNECTION_LIMIT });
          logger.debug({ socketId: socket.id, code: ErrorCode.CONNECTION_LIMIT }, 'connection refused');
          return next(handshakeRefusal(ErrorCode.CONNECTION_LIMIT, message));
        }
        giveBackWhenGone(socket, () => slots.release(userId, socket.id));
        next();
      },
      // acquire never rejects; should it, the connection goes ahead, as with a Redis outage.
      () => next(),
    );
  });
}

function giveBackWhenGone(socket: RealtimeSocket, release: () => void): void {
  const conn = socket.conn;
  let held = true;
  const giveBack = (): void => {
    if (!held) return;
    held = false;
    conn.off('close', onConnClose);
    release();
  };
  // Socket.IO's own close listener ran first and disconnected a connected socket: this is for one that never connected.
  const onConnClose = (): void => {
    if (!socket.connected) giveBack();
  };
  socket.once('disconnect', giveBack);
  conn.once('close', onConnClose);
  undoIfRefused(socket, giveBack);
  if (conn.readyState !== 'open') giveBack();
}
