import type { RealtimeSocket } from './socket-types.js';

/** The parts of an Engine.IO connection that hold bytes not yet written to the kernel. */
interface QueueView {
  writeBuffer?: readonly { data?: unknown }[];
  transport?: { name?: string; socket?: { bufferedAmount?: unknown } };
}

/**
 * Bytes queued in this process for one connection: the packets in
 * Engine.IO's write buffer (waiting for the transport) plus, over
 * WebSocket, `ws`'s bufferedAmount (handed to `ws` but not yet to the
 * kernel). String packets count one byte per UTF-16 unit, a lower bound of
 * their UTF-8 size that costs no encoding. Stops adding once past `stopAbove`:
 * the cost of a check is bounded however long the queue.
 */
export function queuedBytes(socket: RealtimeSocket, stopAbove = Number.POSITIVE_INFINITY): number {
  const conn = socket.conn as unknown as QueueView;
  const transport = conn.transport;
  const buffered = transport?.name === 'websocket' ? transport.socket?.bufferedAmount : undefined;
  let total = typeof buffered === 'number' ? buffered : 0;
  for (const packet of conn.writeBuffer ?? []) {
    if (total > stopAbove) break;
    const data = packet.data;
    if (typeof data === 'string') total += data.length;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) total += data.byteLength;
  }
  return total;
}
