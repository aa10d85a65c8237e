import type { Server, Socket } from 'socket.io';
import type { RelayedEnvelope } from '@realtime/protocol';
import type { TokenBucket } from './rate-limiter.js';

/** Per-connection state the server keeps in `socket.data`. */
export interface ConnectionData {
  /** The last envelope this connection sent, stamped: who it is when it disconnects. */
  last: RelayedEnvelope | undefined;
  bucket: TokenBucket;
}

// Clients may emit any event name (a channel message is emitted under the channel id).
type AnyEvents = Record<string, (...args: unknown[]) => void>;

export type RealtimeServer = Server<AnyEvents, AnyEvents, AnyEvents, ConnectionData>;
export type RealtimeSocket = Socket<AnyEvents, AnyEvents, AnyEvents, ConnectionData>;
