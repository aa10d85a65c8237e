import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createLogger, loadConfig } from '../src/index.js';
import { createAuthorizer } from '../src/auth/create-authorizer.js';
import { LocalRevocations, memoryRevocationList } from '../src/auth/revocation-list.js';
import { HS_SECRET } from './support/tokens.js';

/**
 * The revocation check sits inside `authenticate`: whatever calls it (the
 * handshake, an in-band token refresh) gets REVOKED for a revoked token, from
 * the node's real authorizer as create-authorizer.ts builds it.
 */
const nowS = (): number => Math.floor(Date.now() / 1000);

async function token(sub: string, iatS: number | null): Promise<string> {
  let jwt = new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(nowS() + 600);
  if (iatS !== null) jwt = jwt.setIssuedAt(iatS);
  return jwt.sign(new TextEncoder().encode(HS_SECRET));
}

function nodeAuthorizer(mode: 'optional' | 'required') {
  const config = loadConfig({ AUTH_MODE: mode, AUTH_JWT_SECRET: HS_SECRET, LOG_LEVEL: 'silent' });
  const revocations = memoryRevocationList(new LocalRevocations(config.auth.maxTokenLifetimeS));
  return { authorizer: createAuthorizer(config.auth, createLogger(config), revocations), revocations };
}

describe("the node's authorizer refuses revoked tokens", () => {
  it('REVOKED for an iat before the revocation or none; accepted from the revocation time on, with issuedAt', async () => {
    const { authorizer, revocations } = nodeAuthorizer('required');
    const revokedAt = nowS() - 100;
    expect((await authorizer.authenticate(await token('ann', revokedAt - 1))).ok).toBe(true);
    await revocations.revoke('ann', revokedAt);
    expect(await authorizer.authenticate(await token('ann', revokedAt - 1))).toEqual({
      ok: false,
      code: 'REVOKED',
      message: expect.stringContaining('sign in again') as string,
    });
    expect(await authorizer.authenticate(await token('ann', null))).toMatchObject({ ok: false, code: 'REVOKED' });
    expect(await authorizer.authenticate(await token('ann', revokedAt))).toMatchObject({
      ok: true,
      principal: { userId: 'ann', issuedAt: revokedAt },
    });
    // Another user, and an anonymous connection, are not concerned.
    expect(await authorizer.authenticate(await token('bea', revokedAt - 1))).toMatchObject({ ok: true, principal: { userId: 'bea' } });
    expect(await nodeAuthorizer('optional').authorizer.authenticate(undefined)).toMatchObject({
      ok: true,
      principal: { userId: undefined },
    });
  });

  it('a later revocation with an earlier time changes nothing; a token that does not verify stays AUTH_INVALID', async () => {
    const { authorizer, revocations } = nodeAuthorizer('required');
    const revokedAt = nowS() - 100;
    await revocations.revoke('ann', revokedAt);
    await revocations.revoke('ann', revokedAt - 3600);
    expect(await authorizer.authenticate(await token('ann', revokedAt - 1))).toMatchObject({ ok: false, code: 'REVOKED' });
    expect(await authorizer.authenticate('not-a-jwt')).toMatchObject({ ok: false, code: 'AUTH_INVALID' });
  });
});

describe('LocalRevocations', () => {
  it('forgets a revocation once every token it revokes has expired (its time + the max lifetime), and only moves forward', () => {
    let nowMs = 1_000_000_000_000;
    const local = new LocalRevocations(3600, () => nowMs);
    const at = nowMs / 1000;
    local.remember('ann', at);
    local.remember('ann', at - 10);
    expect(local.get('ann')).toBe(at);
    nowMs += 3599_000;
    expect(local.get('ann')).toBe(at);
    nowMs += 1000;
    expect(local.get('ann')).toBeUndefined();
    // Already past its lifetime: nothing to remember.
    local.remember('bea', nowMs / 1000 - 3600);
    expect(local.get('bea')).toBeUndefined();
  });
});
