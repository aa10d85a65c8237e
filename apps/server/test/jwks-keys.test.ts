import { describe, expect, it } from 'vitest';
import { JwksKeys, parseJwks } from '../src/auth/jwks-keys.js';
import { startJwksServer } from './support/jwks-server.js';
import { ecKeyPair, rsaKeyPair } from './support/tokens.js';

/** The JWKS cache in process, on a clock the test moves: the 60 s rule both ways. */
describe('JwksKeys', () => {
  const make = (url: string, clock: { now: number }) =>
    new JwksKeys({ url: new URL(url), minFetchIntervalMs: 60_000, fetchTimeoutMs: 2000, maxAgeMs: 600_000, now: () => clock.now });

  it('an unknown kid fetches at most once per interval, and again once the interval has passed', async () => {
    const server = await startJwksServer();
    const first = rsaKeyPair();
    server.publish('k1', first.publicKey, 'RS256');
    const clock = { now: 1_000_000 };
    const keys = make(server.url, clock);
    expect((await keys.key('k1'))?.algorithms).toEqual(['RS256']);
    expect(server.requests()).toBe(1);
    server.publish('k2', ecKeyPair().publicKey);
    clock.now += 59_000;
    expect(await Promise.all([keys.key('k2'), keys.key('k3'), keys.key('k2')])).toEqual([undefined, undefined, undefined]);
    expect(server.requests()).toBe(1);
    clock.now += 1_000;
    expect((await keys.key('k2'))?.algorithms).toEqual(['ES256']);
    expect(server.requests()).toBe(2);
    expect(await keys.key('k1')).toBeDefined();
    expect(server.requests()).toBe(2);
  });

  it('concurrent lookups share one request; a failed request counts against the interval and keeps the known keys', async () => {
    const server = await startJwksServer();
    server.publish('k1', rsaKeyPair().publicKey);
    const clock = { now: 0 };
    const keys = make(server.url, clock);
    await Promise.all(Array.from({ length: 20 }, () => keys.key('k1')));
    expect(server.requests()).toBe(1);
    server.behave('fail');
    clock.now += 60_000;
    expect(await keys.key('unknown')).toBeUndefined();
    expect(await keys.key('unknown-2')).toBeUndefined();
    expect(server.requests()).toBe(2);
    expect(await keys.key('k1')).toBeDefined();
  });

  it('gives up on a hanging JWKS server after the fetch timeout', async () => {
    const server = await startJwksServer('hang');
    const keys = new JwksKeys({ url: new URL(server.url), minFetchIntervalMs: 60_000, fetchTimeoutMs: 300, maxAgeMs: 600_000 });
    const started = performance.now();
    const outcome = await keys.key('k1');
    expect(outcome).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refreshes keys older than maxAge in the background on their next use', async () => {
    const server = await startJwksServer();
    server.publish('k1', rsaKeyPair().publicKey);
    const clock = { now: 0 };
    const keys = make(server.url, clock);
    await keys.key('k1');
    clock.now += 600_001;
    expect(await keys.key('k1')).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.requests()).toBe(2);
  });

  it('skips symmetric keys, keys for encryption and keys without kid; honours a key alg', () => {
    const rsa = rsaKeyPair().publicKey.export({ format: 'jwk' });
    const keys = parseJwks({
      keys: [
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
        { ...rsa, kid: 'enc', use: 'enc' },
        { ...rsa },
        { ...rsa, kid: 'ps', alg: 'PS256' },
        { ...rsa, kid: 'any' },
        { kid: 'broken', kty: 'XYZ' },
      ],
    });
    expect([...keys.keys()]).toEqual(['ps', 'any']);
    expect(keys.get('ps')?.algorithms).toEqual(['PS256']);
    expect(() => parseJwks({ nope: [] })).toThrow(/JWK set/);
  });
});
