import { describe, expect, it } from 'vitest';
import { jwtAuthorizer } from '../src/auth/jwt-authorizer.js';
import { jwtVerifier } from '../src/auth/jwt-verifier.js';
import { allows, parseChannelGrants, type ChannelGrants } from '../src/auth/channel-grants.js';
import { HS_SECRET, signToken } from './support/tokens.js';

/** The claim mapping in process: what a verified token becomes. */
const defaults = parseChannelGrants({ 'public-*': ['join'] }) as ChannelGrants;
const authorizer = (mode: 'optional' | 'required') =>
  jwtAuthorizer({
    mode,
    verify: jwtVerifier({
      secret: new TextEncoder().encode(HS_SECRET),
      publicKey: undefined,
      jwks: undefined,
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 30,
    }),
    nameClaim: 'name',
    channelsClaim: 'channels',
    defaultChannels: defaults,
  });

describe('jwtAuthorizer', () => {
  it('maps sub, the name claim and the channels claim', async () => {
    const result = await authorizer('required').authenticate(
      await signToken(HS_SECRET, { sub: 'u1', name: 'Ann', channels: { 'chat-*': ['publish'] } }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal).toMatchObject({ userId: 'u1', userName: 'Ann' });
    expect(allows(result.principal.grants, 'chat-1', 'publish')).toBe(true);
    expect(allows(result.principal.grants, 'public-1', 'join')).toBe(false);
  });

  it('a name that is not a string, or longer than 256 characters, is left out; a sub that long is refused', async () => {
    const auth = authorizer('required');
    const numeric = await auth.authenticate(await signToken(HS_SECRET, { sub: 'u1', name: 42 }));
    expect(numeric.ok && numeric.principal.userName).toBeUndefined();
    const long = await auth.authenticate(await signToken(HS_SECRET, { sub: 'u1', name: 'n'.repeat(257) }));
    expect(long.ok && long.principal.userName).toBeUndefined();
    expect(await auth.authenticate(await signToken(HS_SECRET, { sub: 's'.repeat(257) }))).toMatchObject({
      ok: false,
      code: 'AUTH_INVALID',
    });
    expect(await auth.authenticate(await signToken(HS_SECRET, { sub: '' }))).toMatchObject({ ok: false, code: 'AUTH_INVALID' });
  });

  it('no token: anonymous with the defaults when optional, AUTH_REQUIRED when required', async () => {
    const anonymous = await authorizer('optional').authenticate(undefined);
    expect(anonymous).toMatchObject({ ok: true, principal: { userId: undefined, userName: undefined } });
    expect(anonymous.ok && allows(anonymous.principal.grants, 'public-1', 'join')).toBe(true);
    expect(await authorizer('required').authenticate(undefined)).toMatchObject({ ok: false, code: 'AUTH_REQUIRED' });
  });

  it('a token not valid yet (nbf beyond the tolerance) is AUTH_INVALID, not AUTH_EXPIRED', async () => {
    const token = await signToken(HS_SECRET, { sub: 'u', nbf: Math.floor(Date.now() / 1000) + 120 });
    expect(await authorizer('optional').authenticate(token)).toMatchObject({ ok: false, code: 'AUTH_INVALID' });
  });
});
