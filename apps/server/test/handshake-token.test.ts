import { describe, expect, it } from 'vitest';
import { handshakeToken } from '../src/auth/handshake-auth.js';

describe('handshakeToken', () => {
  it('takes auth.token first, else the Bearer header', () => {
    expect(handshakeToken({ token: 'a.b.c' }, { authorization: 'Bearer x.y.z' })).toBe('a.b.c');
    expect(handshakeToken({}, { authorization: 'Bearer x.y.z' })).toBe('x.y.z');
    expect(handshakeToken(undefined, { authorization: 'bearer  x.y.z ' })).toBe('x.y.z');
  });

  it('no auth, an empty token, no header or another scheme: no token', () => {
    expect(handshakeToken(undefined, {})).toBeUndefined();
    expect(handshakeToken({ token: '' }, {})).toBeUndefined();
    expect(handshakeToken({ token: null }, {})).toBeUndefined();
    expect(handshakeToken({}, { authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    expect(handshakeToken({}, { authorization: 'Bearerish x' })).toBeUndefined();
  });

  it('a token that is not a string, or a Bearer header without one token, is a bad token, never none', () => {
    for (const [auth, authorization] of [
      [{ token: 42 }, undefined],
      [{ token: { jwt: 'a.b.c' } }, undefined],
      [{}, 'Bearer'],
      [{}, 'Bearer '],
      [{}, 'Bearer a b'],
    ] as const) {
      const token = handshakeToken(auth, authorization === undefined ? {} : { authorization });
      expect(token).toBeTypeOf('string');
      expect(token).not.toMatch(/^[\w-]+\.[\w-]+\.[\w-]*$/);
    }
  });
});
