import { ErrorCode } from '@realtime/protocol';
import type { Metrics } from './metrics.js';
import { closeConnection } from './server-close.js';
import type { RealtimeServer } from './socket-types.js';

/**
 * The drain's goodbye: every namespace socket is sent `server-close`
 * SHUTDOWN and its transport closed once what is queued for it (the event
 * included) has been handed to the transport, so socket.io-client reconnects
 * with backoff, to another node behind a load balancer. Resolves when every
 * Engine.IO connection has closed, or after `waitMs` at most (a client that
 * does not read never drains); the caller then closes whatever is left.
 */
export async function closeWithShutdown(io: RealtimeServer, metrics: Metrics, waitMs: number): Promise<void> {
  const message = 'this node is shutting down: reconnect (to another node)';
  for (const socket of io.of('/').sockets.values()) closeConnection(metrics, socket, ErrorCode.SHUTDOWN, message);
  if (io.engine.clientsCount === 0) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const onClosed = (): void => {
      if (io.engine.clientsCount === 0) done();
    };
    const timer = setTimeout(done, waitMs);
    // Engine.IO's server has no event per closed session: each session's own `close` (after
    // the server's listener, which has already removed it from the count) triggers the check.
    const sessions = (io.engine as unknown as { clients: Record<string, { once(event: 'close', fn: () => void): void }> }).clients;
    for (const conn of Object.values(sessions)) {
      conn.once('close', onClosed);
    }
  });
}
