import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { HMAC_ALGORITHMS, algorithmsForPublicKey } from './key-algorithms.js';
import type { JwksKeys } from './jwks-keys.js';

export interface JwtVerifierOptions {
  secret: Uint8Array | undefined;
  publicKey: KeyObject | undefined;
  jwks: JwksKeys | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  /** Seconds of clock skew allowed on exp, nbf and iat. 30 in the server. */
  clockToleranceSeconds: number;
}

export type Verification =
  | { readonly ok: true; readonly payload: JWTPayload }
  | { readonly ok: false; readonly expired: boolean; readonly message: string };

/**
 * Verifies a compact JWS with the configured keys. The token's `alg` picks
 * the candidates: HS* only the secret; RS*, PS*, ES*, EdDSA only a public key
 * (PEM or JWKS `kid`) whose type verifies exactly that algorithm. `none`, an
 * HS* token with no secret, or an algorithm no key has, is refused before any
 * cryptography. A token is accepted when one candidate verifies it and its
 * claims (exp, nbf with the tolerance; iss, aud when configured) hold.
 * `expired` is set only for a token whose signature verified. Messages never
 * quote the token.
 */
export function jwtVerifier(options: JwtVerifierOptions): (token: string) => Promise<Verification> {
  const publicAlgorithms = options.publicKey === undefined ? [] : algorithmsForPublicKey(options.publicKey);
  const invalid = (message: string): Verification => ({ ok: false, expired: false, message });

  return async (token) => {
    let alg: string;
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (typeof header.alg !== 'string') return invalid('the token header has no alg');
      alg = header.alg;
      kid = typeof header.kid === 'string' ? header.kid : undefined;
    } catch {
      return invalid('the token is not a JWT');
    }
    const candidates: (Uint8Array | KeyObject)[] = [];
    if (HMAC_ALGORITHMS.includes(alg)) {
      if (options.secret !== undefined) candidates.push(options.secret);
    } else {
      if (options.publicKey !== undefined && publicAlgorithms.includes(alg)) candidates.push(options.publicKey);
      if (options.jwks !== undefined && kid !== undefined) {
        const found = await options.jwks.key(kid);
        if (found?.algorithms.includes(alg) === true) candidates.push(found.key);
      }
    }
    if (candidates.length === 0) return invalid(`no configured key verifies ${alg.slice(0, 20)} tokens${kid === undefined ? '' : ' with this kid'}`);
    let failure = invalid('the token signature does not verify');
    for (const key of candidates) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [alg],
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockToleranceSeconds,
        });
        return { ok: true, payload };
      } catch (err) {
        if (err instanceof errors.JWTExpired) return { ok: false, expired: true, message: 'the token has expired' };
        if (err instanceof errors.JWTClaimValidationFailed) return invalid(`the token's ${err.claim} claim is not accepted`);
        if (err instanceof errors.JWTInvalid) failure = invalid('the token claims are not a valid JWT claims set');
      }
    }
    return failure;
  };
}
