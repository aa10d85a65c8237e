import type { ChannelGrants } from './channel-grants.js';

/** Who a connection is, fixed at its handshake. */
export interface Principal {
  /** The token's `sub`; absent for an anonymous connection. */
  readonly userId: string | undefined;
  /** The token's name claim (AUTH_NAME_CLAIM), when it is a string. */
  readonly userName: string | undefined;
  /** What this connection may do per channel (the token's claim, or AUTH_DEFAULT_CHANNELS). */
  readonly grants: ChannelGrants;
  /** The token's `iat` (unix seconds); undefined without a token or without the claim. */
  readonly issuedAt: number | undefined;
}

/** The codes a handshake can be refused with (ERROR_REGISTRY entries). */
export type HandshakeRefusalCode = 'AUTH_REQUIRED' | 'AUTH_INVALID' | 'AUTH_EXPIRED' | 'REVOKED';

export type Authentication =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly code: HandshakeRefusalCode; readonly message: string };

/**
 * The auth seam: turns a handshake's credentials into a principal or a
 * refusal. Called once per Socket.IO connection, before it joins anything.
 * Never throws and never rejects: every failure is a refusal.
 */
export interface Authorizer {
  authenticate(token: string | undefined): Promise<Authentication>;
}

/** AUTH_MODE=off: every connection is anonymous with the default grants, whatever it sends. */
export function allowAll(defaultGrants: ChannelGrants): Authorizer {
  const anonymous: Authentication = { ok: true, principal: { userId: undefined, userName: undefined, grants: defaultGrants, issuedAt: undefined } };
  return { authenticate: () => Promise.resolve(anonymous) };
}
