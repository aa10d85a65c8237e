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
  /** HTTP API: no valid `Authorization: Bearer <secret>`. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Not allowed (the HTTP API is disabled: no API_KEYS). */
  FORBIDDEN: 'FORBIDDEN',
  /** HTTP API: no such route, or no such connection. */
  NOT_FOUND: 'NOT_FOUND',
  /** The call needs Redis and Redis is unreachable: nothing was done; retry. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** What each code means over HTTP: its status, and whether the same request may succeed if retried. */
export const ERROR_CODE_INFO: Readonly<Record<ErrorCode, { httpStatus: number; retryable: boolean }>> = {
  INVALID_PAYLOAD: { httpStatus: 400, retryable: false },
  NOT_A_MEMBER: { httpStatus: 409, retryable: false },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false },
  LIMIT_EXCEEDED: { httpStatus: 409, retryable: false },
  RATE_LIMITED: { httpStatus: 429, retryable: true },
  CONNECTION_LIMIT: { httpStatus: 429, retryable: true },
  INTERNAL: { httpStatus: 500, retryable: true },
  UNAUTHORIZED: { httpStatus: 401, retryable: false },
  FORBIDDEN: { httpStatus: 403, retryable: false },
  NOT_FOUND: { httpStatus: 404, retryable: false },
  UNAVAILABLE: { httpStatus: 503, retryable: true },
};

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export function protocolError(code: ErrorCode, message: string): ProtocolError {
  return { code, message };
}
