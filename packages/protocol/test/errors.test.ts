import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_REGISTRY, ErrorCode, isErrorCode } from '../src/index.js';

describe('the error registry', () => {
  it('gives every code an HTTP status and a retryable flag, and nothing else', () => {
    expect(Object.keys(ERROR_REGISTRY).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      expect(Object.keys(ERROR_REGISTRY[code]).sort()).toEqual(['httpStatus', 'retryable']);
      expect(ERROR_REGISTRY[code].httpStatus).toBeGreaterThanOrEqual(400);
      expect(ERROR_REGISTRY[code].httpStatus).toBeLessThan(600);
    }
  });

  it('maps the codes an HTTP API shares with the socket protocol to their usual statuses', () => {
    const statuses = Object.fromEntries(ERROR_CODES.map((code) => [code, ERROR_REGISTRY[code].httpStatus]));
    expect(statuses).toMatchObject({
      INVALID_PAYLOAD: 400,
      UNAUTHORIZED: 401,
      AUTH_REQUIRED: 401,
      AUTH_INVALID: 401,
      AUTH_EXPIRED: 401,
      REVOKED: 403,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      PAYLOAD_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      INTERNAL: 500,
      UNAVAILABLE: 503,
    });
  });

  it('keeps the codes servers already send, with their names as values', () => {
    for (const code of [
      'INVALID_PAYLOAD',
      'NOT_A_MEMBER',
      'PAYLOAD_TOO_LARGE',
      'LIMIT_EXCEEDED',
      'RATE_LIMITED',
      'CONNECTION_LIMIT',
      'INTERNAL',
    ]) {
      expect(ErrorCode[code as keyof typeof ErrorCode]).toBe(code);
    }
  });

  it('only transient failures are retryable', () => {
    expect(ERROR_CODES.filter((code) => ERROR_REGISTRY[code].retryable).sort()).toEqual([
      // A slot frees when another connection of the user closes (MAX_CONNECTIONS_PER_USER): the SDK retries it.
      'CONNECTION_LIMIT',
      'INTERNAL',
      'RATE_LIMITED',
      'SHUTDOWN',
      'SLOW_CONSUMER',
      'TIMEOUT',
      'UNAVAILABLE',
    ]);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(ERROR_REGISTRY)).toBe(true);
  });

  it('isErrorCode accepts the registry’s codes only', () => {
    expect(ERROR_CODES.every(isErrorCode)).toBe(true);
    for (const value of ['', 'ok', 'internal', 'toString', '__proto__', 42, null, undefined, {}]) expect(isErrorCode(value)).toBe(false);
  });
});
