import { SERVER_CLOSE_EVENT, serverClose, type ErrorCode } from '@realtime/protocol';
import type { Metrics } from './metrics.js';
import { emitToConnection } from './recovery/emit-to-connection.js';
import type { RealtimeSocket } from './socket-types.js';

/** The WebSocket under an Engine.IO connection, when it has one (the `ws` transport). */
interface UnderlyingWebSocket {
  terminate(): void;
}

function webSocketOf(socket: RealtimeSocket): UnderlyingWebSocket | undefined {
  const transport = socket.conn.transport as unknown as { name: string; socket?: Partial<UnderlyingWebSocket> };
  const ws = transport.name === 'websocket' ? transport.socket : undefined;
  return typeof ws?.terminate === 'function' ? (ws as UnderlyingWebSocket) : undefined;
}

export interface CloseOptions {
  retryAfterMs?: number;
  /**
   * Drop what is still queued for this connection and cut the TCP connection
   * at once, instead of sending the queue and closing cleanly: for a client
   * that does not read (SLOW_CONSUMER), whose queue would otherwise hold the
   * node's memory until the WebSocket close handshake times out (30 s).
   */
  abort?: boolean;
}

/**
 * Closes a connection, saying why first. Guarantees: `server-close`
 * `{ code, message, retry, retryAfterMs? }` is queued before anything that
 * closes, so a client that reads receives it before the connection ends;
 * a code the registry marks not retryable disconnects at the Socket.IO level
 * (socket.io-client does not reconnect), a retryable one closes only the
 * transport (socket.io-client reconnects with backoff); every close is
 * counted in `realtime_server_closes_total{code}`. Closing twice is harmless.
 */
export function closeConnection(
  metrics: Metrics,
  socket: RealtimeSocket,
  code: ErrorCode,
  message: string,
  options: CloseOptions = {},
): void {
  if (socket.conn.readyState !== 'open') return;
  const payload = serverClose(code, message, options.retryAfterMs);
  metrics.serverCloses.inc({ code });
  emitToConnection(socket, SERVER_CLOSE_EVENT, payload);
  if (options.abort === true) {
    const ws = webSocketOf(socket);
    socket.conn.close(true);
    ws?.terminate();
  } else if (payload.retry) {
    // Engine.IO sends what is queued (server-close included), then closes the transport.
    socket.conn.close();
  } else {
    // A Socket.IO DISCONNECT packet after server-close, then the connection is closed.
    socket.disconnect(true);
  }
}
