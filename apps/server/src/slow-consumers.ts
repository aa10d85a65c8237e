import { ErrorCode } from '@realtime/protocol';
import type { Metrics } from './metrics.js';
import { queuedBytes } from './queued-bytes.js';
import { closeConnection } from './server-close.js';
import type { RealtimeServer } from './socket-types.js';

/** How often every connection's queue is measured: a crossing is acted on within this (well inside the 2 s promised). */
export const SLOW_CONSUMER_CHECK_INTERVAL_MS = 100;

/**
 * MAX_BUFFERED_BYTES: every SLOW_CONSUMER_CHECK_INTERVAL_MS, a connection
 * with more than `maxBufferedBytes` queued in this process (queued-bytes.ts)
 * is sent `server-close` SLOW_CONSUMER (best effort: it waits behind the
 * queue) and cut at once, its queue dropped, so one client that stops
 * reading holds at most about the limit plus one interval's traffic.
 * A check costs one pass over the sockets and stops summing a queue past
 * the limit. 0 disables it. Returns the stop function.
 */
export function watchSlowConsumers(io: RealtimeServer, metrics: Metrics, maxBufferedBytes: number): () => void {
  if (maxBufferedBytes === 0) return () => {};
  const message = `more than ${maxBufferedBytes} bytes were waiting to be sent to this connection: read faster, or reconnect`;
  const timer = setInterval(() => {
    for (const socket of io.of('/').sockets.values()) {
      if (queuedBytes(socket, maxBufferedBytes) > maxBufferedBytes) {
        closeConnection(metrics, socket, ErrorCode.SLOW_CONSUMER, message, { abort: true });
      }
    }
  }, SLOW_CONSUMER_CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
