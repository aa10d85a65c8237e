/**
 * The one registry of error codes: what a client receives in a failed
 * acknowledgement (`{ ok: false, error: { code, message } }`), what the SDK
 * rejects with, and what an HTTP API answers with. Codes are stable API;
 * messages are for humans and may change.
 */
export const ErrorCode = {
  /** The payload is not an object, misses a required field or has a wrong type. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** No credentials, or credentials that could not be verified. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /**
   * Connection refused: AUTH_MODE=required and the handshake carried no
   * token (`connect_error` with `data: { code, message }`).
   */
  AUTH_REQUIRED: 'AUTH_REQUIRED',
  /**
   * Connection refused: the token is malformed, its signature, issuer or
   * audience does not verify, or its algorithm is not allowed for any key.
   */
  AUTH_INVALID: 'AUTH_INVALID',
  /** Connection refused: the token verified but has expired (or is not valid yet). Get a new token. */
  AUTH_EXPIRED: 'AUTH_EXPIRED',
  /** Connection refused: the token, or its user, has been revoked. */
  REVOKED: 'REVOKED',
  /** Valid credentials that do not allow this action (a channel or room the token does not grant). */
  FORBIDDEN: 'FORBIDDEN',
  /** The thing addressed does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** Leaving, or sending to, a channel or room the connection is not in. */
  NOT_A_MEMBER: 'NOT_A_MEMBER',
  /** `data.message` is larger than the configured limit (64 KiB by default). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The connection is already in the maximum number of channels + rooms. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The connection sends events faster than its configured rate. */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * A connection limit was reached (sent as `connect_error` with `data: {
   * code, message }`): the user already holds MAX_CONNECTIONS_PER_USER
   * connections across the cluster, or one Engine.IO connection asked for a
   * second Socket.IO socket. Retryable: a slot frees when one of the
   * user's connections closes (the SDK retries with backoff).
   */
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  /** The server failed; the request may be retried. */
  INTERNAL: 'INTERNAL',
  /**
   * The server closes this connection because its bytes waiting to be sent
   * passed MAX_BUFFERED_BYTES (it is not reading). Sent in `server-close`
   * (best effort: the client is by definition not reading); reconnecting is fine.
   */
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  /** The node is draining: it closes the connection, and the client reconnects (through a load balancer, to another node). */
  SHUTDOWN: 'SHUTDOWN',
  /** The service cannot take the request now (not connected, draining, store down); it may be retried. */
  UNAVAILABLE: 'UNAVAILABLE',
  /**
   * No answer in time. The server never sends it: the SDK rejects with it
   * when no acknowledgement came; the request may or may not have taken effect.
   */
  TIMEOUT: 'TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What every code means beyond its name. */
export interface ErrorSpec {
  /** The HTTP status an HTTP API answers with. */
  readonly httpStatus: number;
  /** Whether the same request, unchanged, may succeed later. */
  readonly retryable: boolean;
}

/** Every code, with its HTTP status and whether it is worth retrying. Frozen. */
export const ERROR_REGISTRY: { readonly [C in ErrorCode]: ErrorSpec } = Object.freeze({
  INVALID_PAYLOAD: { httpStatus: 400, retryable: false },
  UNAUTHORIZED: { httpStatus: 401, retryable: false },
  AUTH_REQUIRED: { httpStatus: 401, retryable: false },
  AUTH_INVALID: { httpStatus: 401, retryable: false },
  AUTH_EXPIRED: { httpStatus: 401, retryable: false },
  REVOKED: { httpStatus: 403, retryable: false },
  FORBIDDEN: { httpStatus: 403, retryable: false },
  NOT_FOUND: { httpStatus: 404, retryable: false },
  // The state of the connection, not the form of the request, is in the way.
  NOT_A_MEMBER: { httpStatus: 409, retryable: false },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false },
  LIMIT_EXCEEDED: { httpStatus: 409, retryable: false },
  RATE_LIMITED: { httpStatus: 429, retryable: true },
  CONNECTION_LIMIT: { httpStatus: 409, retryable: true },
  INTERNAL: { httpStatus: 500, retryable: true },
  SLOW_CONSUMER: { httpStatus: 503, retryable: true },
  SHUTDOWN: { httpStatus: 503, retryable: true },
  UNAVAILABLE: { httpStatus: 503, retryable: true },
  TIMEOUT: { httpStatus: 504, retryable: true },
});

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

/** Whether `value` is one of the registry's codes (e.g. in an ack from a server of another version). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export function protocolError(code: ErrorCode, message: string): ProtocolError {
  return { code, message };
}
