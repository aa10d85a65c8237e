import { describe, expect, it } from 'vitest';
import { isServerClose, serverClose } from '../src/index.js';

describe('server-close payloads', () => {
  it('retry is the registry’s retryable; retryAfterMs only when given', () => {
    expect(serverClose('SHUTDOWN', 'bye')).toEqual({ code: 'SHUTDOWN', message: 'bye', retry: true });
    expect(serverClose('RATE_LIMITED', 'slow down', 2000)).toEqual({
      code: 'RATE_LIMITED',
      message: 'slow down',
      retry: true,
      retryAfterMs: 2000,
    });
    expect(serverClose('FORBIDDEN', 'no')).toEqual({ code: 'FORBIDDEN', message: 'no', retry: false });
    expect(serverClose('SLOW_CONSUMER', 'read').retry).toBe(true);
  });

  it('isServerClose accepts well-formed payloads only', () => {
    expect(isServerClose(serverClose('SHUTDOWN', 'bye', 5))).toBe(true);
    for (const bad of [null, 'x', {}, { code: 'NOPE', message: '', retry: true }, { code: 'SHUTDOWN', message: 1, retry: true }]) {
      expect(isServerClose(bad)).toBe(false);
    }
    expect(isServerClose({ code: 'SHUTDOWN', message: '', retry: 'yes' })).toBe(false);
    expect(isServerClose({ code: 'SHUTDOWN', message: '', retry: true, retryAfterMs: Number.NaN })).toBe(false);
  });
});
