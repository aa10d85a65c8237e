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
 * warns about). Only accepted tokens count (put it outside the revocation check: a
 * refused token is not accepted); `report` is called for each such token and
 * throttles on its own. The decision never changes.
 */
export function reportLongLivedTokens(inner: Authorizer, maxTokenLifetimeS: number, report: (token: LongLivedToken) => void): Authorizer {
  return {
    async authenticate(token) {
      const result = await inner.authenticate(token);
      if (!result.ok || token === undefined || result.principal.userId === undefined) return result;
      const { issuedAt, expiresAt } = result.principal;
      const lifetimeS = expiresAt === undefined ? undefined : expiresAt - (issuedAt ?? Math.floor(Date.now() / 1000));
      if (lifetimeS === undefined || lifetimeS > maxTokenLifetimeS) report({ lifetimeS });
      return result;
    },
  };
}
