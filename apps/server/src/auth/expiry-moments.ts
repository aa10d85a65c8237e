import type { Principal } from './authorizer.js';

/** When to warn a connection of its token's expiry, and when to close it (epoch milliseconds). */
export interface ExpiryMoments {
  /** `auth-expiring` goes out then (at once if it has passed). */
  readonly warnAtMs: number;
  /** The connection is closed with AUTH_EXPIRED then, unless a refresh replaced the token. */
  readonly closeAtMs: number;
}

/**
 * The moments of issue 10, section 3, for a token accepted at `acceptedAtMs`
 * (the handshake or the refresh):
 * - warn at max(exp − warningMs, iat + (exp − iat) / 2): AUTH_REFRESH_WARNING_MS
 *   ahead, but never before half the token's lifetime, so a short-lived
 *   token is not asked to renew the moment it arrives. A token without
 *   `iat` counts its lifetime from `acceptedAtMs`.
 * - close at max(exp, acceptedAtMs) + graceMs: a token accepted within the
 *   verifier's clock tolerance after its `exp` still gets the grace.
 * Undefined for a principal without `exp` (and anonymous ones): no timers.
 */
export function expiryMoments(principal: Principal, acceptedAtMs: number, warningMs: number, graceMs: number): ExpiryMoments | undefined {
  if (principal.expiresAt === undefined) return undefined;
  const expMs = principal.expiresAt * 1000;
  const startMs = principal.issuedAt === undefined ? acceptedAtMs : principal.issuedAt * 1000;
  const halfLifeMs = startMs + (expMs - startMs) / 2;
  return {
    warnAtMs: Math.max(expMs - warningMs, halfLifeMs),
    closeAtMs: Math.max(expMs, acceptedAtMs) + graceMs,
  };
}
