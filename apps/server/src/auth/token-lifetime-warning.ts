import { decodeJwt } from 'jose';
import type { Authorizer } from './authorizer.js';

/** What the warning says about one token; never the token or its claims beyond the lifetime. */
export interface LongLivedToken {
  /** `exp − iat` (or `exp` − now without `iat`); undefined for a token without `exp`. */
  lifetimeS: number | undefined;
}

/**
 * Reports accepted tokens that live longer than AUTH_MAX_TOKEN_LIFETIME_S:
 * revocations are forgotten that long after their time, so such a token
 * could outlive its own revocation (a configuration mistake the README
 * warns about). Only verified tokens are decoded; `report` is called for each
 * such token and throttles on its own. The decision never changes.
 */
export function reportLongLivedTokens(inner: Authorizer, maxTokenLifetimeS: number, report: (token: LongLivedToken) => void): Authorizer {
  return {
    async authenticate(token) {
      const result = await inner.authenticate(token);
      if (!result.ok || token === undefined || result.principal.userId === undefined) return result;
      let exp: unknown;
      try {
        exp = decodeJwt(token).exp;
      } catch {
        return result;
      }
      const from = result.principal.issuedAt ?? Math.floor(Date.now() / 1000);
      const lifetimeS = typeof exp === 'number' ? exp - from : undefined;
      if (lifetimeS === undefined || lifetimeS > maxTokenLifetimeS) report({ lifetimeS });
      return result;
    },
  };
}
