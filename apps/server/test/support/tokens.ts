import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';

/** An HS secret no test prints by chance. */
export const HS_SECRET = 'test-hmac-secret-0123456789abcdef-planted';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as SPKI PEM (AUTH_JWT_PUBLIC_KEY). */
  pem: string;
}

export function rsaKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function ecKeyPair(namedCurve = 'P-256'): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { privateKey, publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function edKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export interface SignOptions {
  alg?: string;
  kid?: string;
  /** Seconds from now; negative = already expired. Default 300. */
  expiresIn?: number;
  issuer?: string;
  audience?: string;
  /** `iat` in unix seconds, instead of a minute ago. */
  issuedAt?: number;
  /** `exp` in unix seconds, instead of `expiresIn` from now; null: no `exp` at all. */
  expiresAt?: number | null;
}

/** A signed JWT with `claims`, `iat` a minute ago and `exp` `expiresIn` seconds from now (or the given `issuedAt` / `expiresAt`). */
export async function signToken(key: KeyObject | Uint8Array | string, claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const signingKey = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid === undefined ? {} : { kid: options.kid }) })
    .setIssuedAt(options.issuedAt ?? now - 60);
  if (options.expiresAt !== null) jwt = jwt.setExpirationTime(options.expiresAt ?? now + (options.expiresIn ?? 300));
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(signingKey);
}

/** An unsigned token (`alg: none`), as an attacker writes it. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: Math.floor(Date.now() / 1000) + 300, ...claims })}.`;
}
