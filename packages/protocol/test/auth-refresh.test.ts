import { describe, expect, it } from 'vitest';
import {
  AUTH_EXPIRING_EVENT,
  AUTH_REFRESH_EVENT,
  CLIENT_CONTROL_EVENTS,
  DEFAULT_VALIDATION_LIMITS,
  MAX_TOKEN_LENGTH,
  RESERVED_EVENT_NAMES,
  checkChannelId,
  validateAuthRefresh,
  type ClientEventAck,
} from '../src/index.js';
import { expectTypeOf } from 'vitest';

describe('auth-refresh and auth-expiring', () => {
  it('are reserved: no channel may be named after them', () => {
    for (const name of [AUTH_REFRESH_EVENT, AUTH_EXPIRING_EVENT]) {
      expect(RESERVED_EVENT_NAMES.has(name)).toBe(true);
      expect(checkChannelId('data.roomChannel', name, DEFAULT_VALIDATION_LIMITS.maxIdLength)).toContain('reserved event name');
    }
    expect(CLIENT_CONTROL_EVENTS.has(AUTH_REFRESH_EVENT)).toBe(true);
  });

  it('a request is an object with a non-empty string token of at most MAX_TOKEN_LENGTH characters', () => {
    expect(validateAuthRefresh({ token: 'a.b.c' })).toEqual({ ok: true, token: 'a.b.c' });
    expect(validateAuthRefresh({ token: 'x'.repeat(MAX_TOKEN_LENGTH) }).ok).toBe(true);
    expect(validateAuthRefresh({ token: 'x'.repeat(MAX_TOKEN_LENGTH + 1) })).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    for (const bad of [undefined, null, 'a.b.c', ['a.b.c'], {}, { token: 1 }, { token: '' }]) {
      expect(validateAuthRefresh(bad)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    }
  });

  it('its ack is typed in the client → server map', () => {
    expectTypeOf<ClientEventAck<'auth-refresh'>>().toMatchTypeOf<{ ok: true; expiresAt?: number } | { ok: false }>();
  });
});
