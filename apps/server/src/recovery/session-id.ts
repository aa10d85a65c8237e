import type { RealtimeSocket } from '../socket-types.js';

/**
 * A connection's private session id (Socket.IO's `pid`, which the client
 * sends back to recover): what its live session is kept under. Socket.IO
 * keeps it in a private field and hands it to the adapter only when the
 * connection is lost (persistSession); a live record needs it before.
 * This is the one place that reads it; `test/session-recovery.test.ts`
 * pins that it is the id the client holds. Undefined without connection
 * state recovery.
 */
export function sessionIdOf(socket: RealtimeSocket): string | undefined {
  const pid = (socket as unknown as { pid?: unknown }).pid;
  return typeof pid === 'string' && pid.length > 0 ? pid : undefined;
}
