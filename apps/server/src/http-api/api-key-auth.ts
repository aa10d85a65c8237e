import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../config.js';

/**
 * Finds the API key an `Authorization: Bearer <secret>` header names.
 * Compares SHA-256 digests in constant time against every configured key
 * (no early exit), so timing tells nothing of how much of a secret matched
 * or which key it was close to.
 */
export function apiKeyAuthenticator(keys: readonly ApiKey[]): (authorization: string | undefined) => ApiKey | undefined {
  const digests = keys.map((key) => ({ key, digest: createHash('sha256').update(key.secret).digest() }));
  return (authorization) => {
    const match = /^Bearer ([^\s]+)$/.exec(authorization ?? '');
    if (match === null) return undefined;
    const presented = createHash('sha256').update(match[1] as string).digest();
    let found: ApiKey | undefined;
    for (const { key, digest } of digests) {
      if (timingSafeEqual(presented, digest)) found = key;
    }
    return found;
  };
}
