import type { KeyObject } from 'node:crypto';

/** The HMAC algorithms AUTH_JWT_SECRET verifies. */
export const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];

const EC_ALGORITHM: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * The algorithms a public key verifies, fixed by its type: RSA → RS* and
 * PS*, RSA-PSS → PS*, EC → the one ES* of its curve, Ed25519 → EdDSA.
 * Never `none`, never an HS* algorithm (a public key is not an HMAC secret).
 */
export function algorithmsForPublicKey(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const alg = EC_ALGORITHM[key.asymmetricKeyDetails?.namedCurve ?? ''];
      return alg === undefined ? [] : [alg];
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}
