import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { allowAll, type Authorizer } from './authorizer.js';
import { JwksKeys } from './jwks-keys.js';
import { jwtAuthorizer } from './jwt-authorizer.js';
import { jwtVerifier } from './jwt-verifier.js';
import { checkRevocations } from './revocation-check.js';
import type { RevocationList } from './revocation-list.js';
import { reportLongLivedTokens, type LongLivedToken } from './token-lifetime-warning.js';
import { throttledLog } from '../throttled-log.js';

/** The fixed rules of section 1: one JWKS request per minute at most, 2 s to answer, 30 s of clock skew. */
export const JWKS_MIN_FETCH_INTERVAL_MS = 60_000;
export const JWKS_FETCH_TIMEOUT_MS = 2_000;
export const JWKS_MAX_AGE_MS = 10 * 60_000;
export const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * The node's authorizer for AUTH_MODE: the JWT check, then the revocation
 * check, so every caller of `authenticate` (handshake, refresh) refuses a
 * revoked token. Logs JWKS outcomes by the URL's origin and path only (no
 * query: it may hold a key), and tokens outliving AUTH_MAX_TOKEN_LIFETIME_S
 * at most once a minute (never the token).
 */
export function createAuthorizer(auth: AuthConfig, logger: Logger, revocations: RevocationList): Authorizer {
  if (auth.mode === 'off') return allowAll(auth.defaultChannels);
  const jwksUrl = auth.jwksUrl;
  const where = jwksUrl === undefined ? '' : `${jwksUrl.origin}${jwksUrl.pathname}`;
  const jwks =
    jwksUrl === undefined
      ? undefined
      : new JwksKeys({
          url: jwksUrl,
          minFetchIntervalMs: JWKS_MIN_FETCH_INTERVAL_MS,
          fetchTimeoutMs: JWKS_FETCH_TIMEOUT_MS,
          maxAgeMs: JWKS_MAX_AGE_MS,
          onFetch: (outcome) =>
            outcome.ok
              ? logger.info({ event: 'jwks-fetched', keys: outcome.keys }, `fetched ${outcome.keys} keys from ${where}`)
              : logger.warn({ event: 'jwks-failed', reason: outcome.reason }, `fetching the JWK set from ${where} failed: ${outcome.reason}`),
        });
  const verified = jwtAuthorizer({
    mode: auth.mode,
    verify: jwtVerifier({
      secret: auth.jwtSecret,
      publicKey: auth.jwtPublicKey,
      jwks,
      issuer: auth.issuer,
      audience: auth.audience,
      clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    }),
    nameClaim: auth.nameClaim,
    channelsClaim: auth.channelsClaim,
    defaultChannels: auth.defaultChannels,
  });
  const warn = throttledLog<LongLivedToken>((token, tokens) =>
    logger.warn(
      { event: 'token-outlives-revocations', lifetimeS: token.lifetimeS ?? null, maxTokenLifetimeS: auth.maxTokenLifetimeS, tokens },
      `accepted a token that lives ${token.lifetimeS === undefined ? 'forever (no exp)' : `${token.lifetimeS} s`}, longer than ` +
        `AUTH_MAX_TOKEN_LIFETIME_S (${auth.maxTokenLifetimeS} s): a revocation is forgotten before such a token expires ` +
        `(${tokens} such tokens since the last warning)`,
    ),
  );
  // The warning wraps the revocation check: a revoked token is refused, not accepted.
  return reportLongLivedTokens(checkRevocations(verified, revocations), auth.maxTokenLifetimeS, warn);
}
