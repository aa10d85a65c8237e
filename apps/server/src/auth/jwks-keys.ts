import { createPublicKey, type KeyObject } from 'node:crypto';
import { algorithmsForPublicKey } from './key-algorithms.js';

/** A key of the JWK set: the key, and the algorithms it may verify. */
export interface JwksKey {
  readonly key: KeyObject;
  readonly algorithms: readonly string[];
}

export interface JwksKeysOptions {
  url: URL;
  /** At most one request per this interval, whatever its outcome. 60 000 in the server. */
  minFetchIntervalMs: number;
  /** A request slower than this fails. 2 000 in the server. */
  fetchTimeoutMs: number;
  /** Keys older than this are refreshed in the background on their next use (still at most one request per interval). */
  maxAgeMs: number;
  /** Told of every request's outcome (for logs and tests). */
  onFetch?: (outcome: { ok: true; keys: number } | { ok: false; reason: string }) => void;
  now?: () => number;
}

/** Largest JWK set body read. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The keys of a remote JWK set by `kid`, cached. Guarantees: at most one
 * request per `minFetchIntervalMs` per instance (failures and timeouts
 * included; concurrent lookups share the request in flight), so a flood of
 * tokens with unknown `kid`s costs the JWKS server one request a minute.
 * A failed request keeps the keys already known; a successful one replaces
 * them (a key removed from the set stops verifying). Symmetric (`oct`) keys
 * and keys of unsupported types are skipped: a URL never supplies an HMAC secret.
 */
export class JwksKeys {
  private keys = new Map<string, JwksKey>();
  private fetchedAt: number | undefined;
  private attemptedAt: number | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: JwksKeysOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The key with this `kid`, fetching the set when it is unknown and the interval allows. */
  async key(kid: string): Promise<JwksKey | undefined> {
    const known = this.keys.get(kid);
    if (known !== undefined) {
      if (this.fetchedAt !== undefined && this.now() - this.fetchedAt > this.options.maxAgeMs) void this.refresh();
      return known;
    }
    await this.refresh();
    return this.keys.get(kid);
  }

  /** Starts a request unless one is in flight or the last began less than the interval ago; resolves when done. */
  private refresh(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    const now = this.now();
    if (this.attemptedAt !== undefined && now - this.attemptedAt < this.options.minFetchIntervalMs) return Promise.resolve();
    this.attemptedAt = now;
    this.inFlight = this.fetchKeys().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetchKeys(): Promise<void> {
    try {
      const response = await fetch(this.options.url, {
        signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
        redirect: 'error',
        headers: { accept: 'application/json' },
      });
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      const body = await response.text();
      if (body.length > MAX_BODY_BYTES) throw new Error('the JWK set is larger than 1 MiB');
      const keys = parseJwks(JSON.parse(body) as unknown);
      this.keys = keys;
      this.fetchedAt = this.now();
      this.options.onFetch?.({ ok: true, keys: keys.size });
    } catch (err) {
      const reason = err instanceof Error ? (err.name === 'TimeoutError' ? 'timed out' : err.message) : 'failed';
      this.options.onFetch?.({ ok: false, reason });
    }
  }
}

/** The usable keys of a JWK set document; throws when it is not one. */
export function parseJwks(document: unknown): Map<string, JwksKey> {
  const list = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('the response is not a JWK set ({"keys": [...]})');
  const keys = new Map<string, JwksKey>();
  for (const jwk of list as unknown[]) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    const { kid, kty, alg, use } = jwk as { kid?: unknown; kty?: unknown; alg?: unknown; use?: unknown };
    if (typeof kid !== 'string' || kty === 'oct' || (use !== undefined && use !== 'sig')) continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      continue;
    }
    const family = algorithmsForPublicKey(key);
    const algorithms = typeof alg === 'string' ? family.filter((a) => a === alg) : family;
    if (algorithms.length > 0) keys.set(kid, { key, algorithms });
  }
  return keys;
}
