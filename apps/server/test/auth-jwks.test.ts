import { beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startServerProcess, type ServerProcess } from '@realtime/testing';
import { startJwksServer, type JwksServer } from './support/jwks-server.js';
import { HS_SECRET, ecKeyPair, rsaKeyPair, signToken } from './support/tokens.js';

/**
 * AUTH_JWKS_URL on node processes against a local JWKS server that counts
 * its requests: keys by `kid`, cached; a token with an unknown `kid` costs
 * at most one request per 60 s per node, failures and timeouts included;
 * a JWKS server that does not answer costs a handshake at most 2 s.
 */

async function refusalCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

describe('AUTH_JWKS_URL', () => {
  const rsa = rsaKeyPair();
  const ec = ecKeyPair();
  let jwks: JwksServer;
  let node: ServerProcess;
  beforeAll(async () => {
    jwks = await startJwksServer();
    jwks.publish('rsa-1', rsa.publicKey, 'RS256');
    jwks.publish('ec-1', ec.publicKey);
    // A secret too: several sources at once.
    node = await startServerProcess({
      nodeId: 'auth-jwks',
      env: { AUTH_MODE: 'required', AUTH_JWKS_URL: jwks.url, AUTH_JWT_SECRET: HS_SECRET },
    });
  }, 30_000);

  it('verifies tokens by kid with the key of the matching algorithm, one request for the whole set', async () => {
    const rsToken = await signToken(rsa.privateKey, { sub: 'u' }, { alg: 'RS256', kid: 'rsa-1' });
    const esToken = await signToken(ec.privateKey, { sub: 'u' }, { alg: 'ES256', kid: 'ec-1' });
    expect((await connectClient(node.url, { auth: { token: rsToken } })).connected).toBe(true);
    expect((await connectClient(node.url, { auth: { token: esToken } })).connected).toBe(true);
    expect((await connectClient(node.url, { auth: { token: await signToken(HS_SECRET, { sub: 'u' }) } })).connected).toBe(true);
    expect(jwks.requests()).toBe(1);
  });

  it('refuses a kid whose key is of another algorithm, a PS256 token for a key pinned to RS256, and a token without kid', async () => {
    expect(
      await refusalCode(
        connectClient(node.url, { auth: { token: await signToken(rsa.privateKey, { sub: 'u' }, { alg: 'RS256', kid: 'ec-1' }) } }),
      ),
    ).toBe('AUTH_INVALID');
    expect(
      await refusalCode(
        connectClient(node.url, { auth: { token: await signToken(rsa.privateKey, { sub: 'u' }, { alg: 'PS256', kid: 'rsa-1' }) } }),
      ),
    ).toBe('AUTH_INVALID');
    expect(
      await refusalCode(connectClient(node.url, { auth: { token: await signToken(rsa.privateKey, { sub: 'u' }, { alg: 'RS256' }) } })),
    ).toBe('AUTH_INVALID');
  });

  it('tokens with unknown kids cost no more JWKS requests within 60 s, even a kid published since', async () => {
    const before = jwks.requests();
    const other = rsaKeyPair();
    jwks.publish('rsa-2', other.publicKey, 'RS256');
    for (const kid of ['rsa-2', 'unknown-a', 'unknown-b', 'unknown-c', 'rsa-2']) {
      const token = await signToken(other.privateKey, { sub: 'u' }, { alg: 'RS256', kid });
      expect(await refusalCode(connectClient(node.url, { auth: { token } }))).toBe('AUTH_INVALID');
    }
    // At most one request in the minute: none, if the first fetch was less than 60 s ago.
    expect(jwks.requests() - before).toBeLessThanOrEqual(1);
    expect(jwks.requests()).toBe(1);
  });
});

describe('AUTH_JWKS_URL failing or hanging', () => {
  const rsa = rsaKeyPair();
  let failing: JwksServer;
  let hanging: JwksServer;
  let failingNode: ServerProcess;
  let hangingNode: ServerProcess;
  beforeAll(async () => {
    [failing, hanging] = await Promise.all([startJwksServer('fail'), startJwksServer('hang')]);
    [failingNode, hangingNode] = await Promise.all([
      startServerProcess({ nodeId: 'auth-jwks-fail', env: { AUTH_MODE: 'required', AUTH_JWKS_URL: failing.url } }),
      startServerProcess({ nodeId: 'auth-jwks-hang', env: { AUTH_MODE: 'required', AUTH_JWKS_URL: hanging.url } }),
    ]);
  }, 30_000);

  it('a failing JWKS server gets one request per 60 s however many tokens arrive, and each token is AUTH_INVALID', async () => {
    for (let i = 0; i < 5; i++) {
      const token = await signToken(rsa.privateKey, { sub: 'u' }, { alg: 'RS256', kid: `kid-${i}` });
      expect(await refusalCode(connectClient(failingNode.url, { auth: { token } }))).toBe('AUTH_INVALID');
    }
    expect(failing.requests()).toBe(1);
    expect(failingNode.logs.some((l) => l.event === 'jwks-failed')).toBe(true);
  });

  it('a JWKS server that never answers costs the first handshake about 2 s, then none while the 60 s run', async () => {
    const token = await signToken(rsa.privateKey, { sub: 'u' }, { alg: 'RS256', kid: 'k' });
    let started = performance.now();
    expect(await refusalCode(connectClient(hangingNode.url, { auth: { token } }))).toBe('AUTH_INVALID');
    const first = performance.now() - started;
    expect(first).toBeGreaterThan(1800);
    expect(first).toBeLessThan(5000);
    started = performance.now();
    expect(await refusalCode(connectClient(hangingNode.url, { auth: { token } }))).toBe('AUTH_INVALID');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(hanging.requests()).toBe(1);
  });
});
