import type { Server, Socket } from 'socket.io';
import type { Principal } from './auth/authorizer.js';
import type { SenderIdentity } from './envelopes.js';
import type { TokenBucket } from './rate-limiter.js';
import type { RefusalWindow } from './refusal-window.js';
import type { PendingRecovery, TopicTrack } from './recovery/session-recovery.js';

/** Per-connection state the server keeps in `socket.data`. */
export interface ConnectionData {
  /**
   * `time` and `source` of the last envelope this connection sent: who it is
   * when it disconnects. Updated in place (no allocation per message), and
   * never the message itself, so an idle connection holds no old payload.
   */
  identity: SenderIdentity;
  /** Who the connection is and what it may do: set by the handshake middleware, before `connection`. */
  principal: Principal;
  bucket: TokenBucket;
  /** Made at this connection's first RATE_LIMITED refusal (RATE_LIMIT_CLOSE_AFTER). */
  rateLimitRefusals: RefusalWindow | undefined;
  /** The last `auth-refresh` being applied: the next one waits for it (applied in the order sent). */
  authRefresh: Promise<void> | undefined;
  /** topic → server time of this connection's join: kept with its membership in the store (member lists show it). */
  joinedAt: Map<string, string>;
  /** topic → where the connection stands in it, for recovery (RECOVERY_WINDOW_MS); empty when recovery is off. */
  tracks: Map<string, TopicTrack>;
  /** A recovered session waiting for the socket to connect (set by restoreSession, applied at `connection`). */
  recovery: PendingRecovery | undefined;
  /** Set when Socket.IO handed the connection's loss to persistSession: its session is kept, its memberships stay for PRESENCE_GRACE_MS. */
  kept?: boolean;
}

// Clients may emit any event name (a channel message is emitted under the channel id).
type AnyEvents = Record<string, (...args: unknown[]) => void>;

export type RealtimeServer = Server<AnyEvents, AnyEvents, AnyEvents, ConnectionData>;
export type RealtimeSocket = Socket<AnyEvents, AnyEvents, AnyEvents, ConnectionData>;
