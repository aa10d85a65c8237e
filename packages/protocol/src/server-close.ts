import { ERROR_REGISTRY, isErrorCode, type ErrorCode } from './errors.js';

/**
 * The payload of `server-close`, which the server emits just before it
 * closes a connection. `retry` is the registry's `retryable` for the code:
 * when false (AUTH_EXPIRED, REVOKED, FORBIDDEN) the server disconnects at the
 * Socket.IO level, so socket.io-client does not reconnect; when true
 * (RATE_LIMITED, SLOW_CONSUMER, SHUTDOWN) it closes the transport, so
 * socket.io-client reconnects with its backoff, waiting at least
 * `retryAfterMs` when present.
 */
export interface ServerClose {
  code: ErrorCode;
  message: string;
  retry: boolean;
  retryAfterMs?: number;
}

export function serverClose(code: ErrorCode, message: string, retryAfterMs?: number): ServerClose {
  const close: ServerClose = { code, message, retry: ERROR_REGISTRY[code].retryable };
  if (retryAfterMs !== undefined) close.retryAfterMs = retryAfterMs;
  return close;
}

/** Whether `value` is a well-formed `server-close` payload (what a client receives is untrusted input). */
export function isServerClose(value: unknown): value is ServerClose {
  if (typeof value !== 'object' || value === null) return false;
  const close = value as Record<string, unknown>;
  return (
    isErrorCode(close.code) &&
    typeof close.message === 'string' &&
    typeof close.retry === 'boolean' &&
    (close.retryAfterMs === undefined || (typeof close.retryAfterMs === 'number' && Number.isFinite(close.retryAfterMs)))
  );
}
