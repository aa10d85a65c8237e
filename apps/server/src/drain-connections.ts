import { ErrorCode } from '@realtime/protocol';
import type { Metrics } from './metrics.js';
import { closeConnection } from './server-close.js';
import type { RealtimeServer } from './socket-types.js';

/**
 * The drain's goodbye: every namespace socket is sent `server-close`
 * SHUTDOWN and its transport closed once what is queued for it (the event
 * included) has been handed to the transport, so socket.io-client reconnects
 * with backoff, to another node behind a load balancer. Resolves when each
 * of those connections has closed, or after `waitMs` at most (a client that
 * does not read never drains); the caller then closes whatever is left,
 * sessions that never connected the namespace included (nobody to tell).
 */
export async function closeWithShutdown(io: RealtimeServer, metrics: Metrics, waitMs: number): Promise<void> {
  const message = 'this node is shutting down: reconnect (to another node)';
  const closing: Promise<void>[] = [];
  for (const socket of io.of('/').sockets.values()) {
    const conn = socket.conn;
    if (conn.readyState !== 'open') continue;
    closing.push(new Promise((resolve) => conn.once('close', () => resolve())));
    closeConnection(metrics, socket, ErrorCode.SHUTDOWN, message);
  }
  if (closing.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(closing), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
}
