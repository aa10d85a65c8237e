import type { Authentication, Authorizer } from './authorizer.js';
import type { RevocationList } from './revocation-list.js';

const REVOKED: Authentication = {
  ok: false,
  code: 'REVOKED',
  message: "this token was revoked (issued before its user's revocation): sign in again for a new one",
};

/**
 * Refuses revoked tokens wherever a token is authenticated: the handshake
 * and any in-band refresh go through `authenticate`, so none can skip it.
 * Guarantees: a token that `inner` accepts for a user with a revocation time
 * is REVOKED when its `iat` is before that time or absent (a token without
 * `iat` cannot show it is newer); anonymous connections have no user and are
 * never revoked; refusals of `inner` pass through unchanged, and a token is
 * looked up only once it verified (garbage costs no Redis read).
 */
export function checkRevocations(inner: Authorizer, revocations: RevocationList): Authorizer {
  return {
    async authenticate(token) {
      const result = await inner.authenticate(token);
      if (!result.ok || result.principal.userId === undefined) return result;
      const revokedBefore = await revocations.revokedBefore(result.principal.userId);
      if (revokedBefore === undefined) return result;
      const issuedAt = result.principal.issuedAt;
      return issuedAt === undefined || issuedAt < revokedBefore ? REVOKED : result;
    },
  };
}
