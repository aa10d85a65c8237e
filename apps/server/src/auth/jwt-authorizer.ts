import type { JWTPayload } from 'jose';
import type { Authentication, Authorizer, Principal } from './authorizer.js';
import { parseChannelGrants, type ChannelGrants } from './channel-grants.js';
import type { Verification } from './jwt-verifier.js';

export interface JwtAuthorizerOptions {
  mode: 'optional' | 'required';
  verify: (token: string) => Promise<Verification>;
  nameClaim: string;
  channelsClaim: string;
  defaultChannels: ChannelGrants;
}

/** Longest `sub` and name taken: longer ones are refused (sub) or dropped (name), as ids are capped in envelopes. */
export const MAX_IDENTITY_LENGTH = 256;

/** A NumericDate claim (jose has checked its type when present): unix seconds, or undefined. */
function numericDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * AUTH_MODE=optional|required. Guarantees: no token is anonymous in
 * `optional` and AUTH_REQUIRED in `required`; a token that does not verify
 * is refused in both modes (AUTH_EXPIRED when only its lifetime is wrong,
 * else AUTH_INVALID), so a client cannot fall back to anonymous by sending
 * garbage. A token with a channels claim that is not a grants object is
 * AUTH_INVALID: a malformed claim never widens to the defaults.
 */
export function jwtAuthorizer(options: JwtAuthorizerOptions): Authorizer {
  const anonymous: Authentication = {
    ok: true,
    principal: { userId: undefined, userName: undefined, grants: options.defaultChannels, expiresAt: undefined, issuedAt: undefined },
  };
  const principalOf = (payload: JWTPayload): Principal | string => {
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > MAX_IDENTITY_LENGTH) return 'the token needs a sub of 1-256 characters';
    const name = payload[options.nameClaim];
    const claim = payload[options.channelsClaim];
    let grants = options.defaultChannels;
    if (claim !== undefined) {
      const parsed = parseChannelGrants(claim);
      if (typeof parsed === 'string') return `the token's ${options.channelsClaim} claim ${parsed}`;
      grants = parsed;
    }
    return {
      userId: sub,
      userName: typeof name === 'string' && name.length <= MAX_IDENTITY_LENGTH ? name : undefined,
      grants,
      expiresAt: numericDate(payload.exp),
      issuedAt: numericDate(payload.iat),
    };
  };
  return {
    async authenticate(token) {
      if (token === undefined) {
        if (options.mode === 'optional') return anonymous;
        return { ok: false, code: 'AUTH_REQUIRED', message: 'this server requires a token: pass auth: { token } or Authorization: Bearer' };
      }
      try {
        const verified = await options.verify(token);
        if (!verified.ok) return { ok: false, code: verified.expired ? 'AUTH_EXPIRED' : 'AUTH_INVALID', message: verified.message };
        const principal = principalOf(verified.payload);
        if (typeof principal === 'string') return { ok: false, code: 'AUTH_INVALID', message: principal };
        return { ok: true, principal };
      } catch {
        return { ok: false, code: 'AUTH_INVALID', message: 'the token could not be verified' };
      }
    },
  };
}
