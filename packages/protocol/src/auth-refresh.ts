import type { Ack } from './ack.js';
import { ErrorCode, protocolError, type ProtocolError } from './errors.js';

/**
 * In-band token renewal. The server emits `auth-expiring` before the
 * connection's token expires; the client answers, or sends at any time,
 * `auth-refresh` with a new token for the same user. A connection that has
 * no valid token past its `exp` is closed with `server-close` AUTH_EXPIRED.
 */

/** `auth-expiring`, server → client: when the connection's current token expires, in unix seconds. */
export interface AuthExpiring {
  expiresAt: number;
}

/** `auth-refresh`, client → server. */
export interface AuthRefreshRequest {
  token: string;
}

/**
 * The ack of `auth-refresh`. On success `expiresAt` is the new token's
 * `exp` (unix seconds), absent when the new token does not expire.
 */
export type AuthRefreshAck = Ack<{ expiresAt?: number }>;

/**
 * Longest token `auth-refresh` takes, in characters (a JWT is ASCII). Far
 * above any real JWT with a grants claim, far below the frame limit: a
 * larger one is refused PAYLOAD_TOO_LARGE before any cryptography.
 */
export const MAX_TOKEN_LENGTH = 16_384;

export type AuthRefreshValidation = { ok: true; token: string } | { ok: false; error: ProtocolError };

/** Checks an `auth-refresh` payload: an object with a non-empty string `token` of at most MAX_TOKEN_LENGTH characters. */
export function validateAuthRefresh(payload: unknown): AuthRefreshValidation {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, error: protocolError(ErrorCode.INVALID_PAYLOAD, 'auth-refresh needs an object { token }') };
  }
  const token = (payload as { token?: unknown }).token;
  if (typeof token !== 'string' || token === '') {
    return { ok: false, error: protocolError(ErrorCode.INVALID_PAYLOAD, 'auth-refresh needs token, a non-empty string') };
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    return { ok: false, error: protocolError(ErrorCode.PAYLOAD_TOO_LARGE, `token must be at most ${MAX_TOKEN_LENGTH} characters`) };
  }
  return { ok: true, token };
}
