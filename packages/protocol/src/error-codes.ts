/**
 * The one registry of error codes a client can receive in a failed
 * acknowledgement: `{ ok: false, error: { code, message } }`.
 * Codes are stable API; messages are for humans and may change.
 */
export const ErrorCode = {
  /** The payload is not an object, misses a required field or has a wrong type. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** Leaving, or sending to, a channel or room the connection is not in. */
  NOT_A_MEMBER: 'NOT_A_MEMBER',
  /** `data.message` is larger than the configured limit (64 KiB by default). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The connection is already in the maximum number of channels + rooms. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The connection sends events faster than its configured rate. */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * A connection limit was reached: a second Socket.IO socket on one
   * Engine.IO connection (sent as `connect_error` with `data: { code, message }`).
   */
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  /** The server failed; the request may be retried. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export function protocolError(code: ErrorCode, message: string): ProtocolError {
  return { code, message };
}
