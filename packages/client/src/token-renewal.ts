import { AUTH_REFRESH_EVENT, ErrorCode } from '@realtime/protocol';
import type { Socket } from 'socket.io-client';
import { callWithAck } from './ack-call.js';
import { RealtimeError, isRealtimeError } from './realtime-error.js';

/** Attempts per `auth-expiring` (the first included), and the first wait between them (doubled each time). */
const MAX_ATTEMPTS = 4;
const FIRST_RETRY_DELAY_MS = 500;

/** Server refusals a new attempt cannot change: the server closes (REVOKED, FORBIDDEN) or the request is malformed. */
const FINAL_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.REVOKED,
  ErrorCode.FORBIDDEN,
  ErrorCode.INVALID_PAYLOAD,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.UNAVAILABLE,
]);

export interface TokenRenewalOptions {
  socket: Socket;
  getToken: () => Promise<string>;
  ackTimeoutMs: number;
  /** The server took the new token; `expiresAt` is its `exp` (unix seconds), when it has one. */
  refreshed(expiresAt: number | undefined): void;
  /** Every attempt for one `auth-expiring` failed: the connection closes AUTH_EXPIRED at the token's expiry. */
  failed(error: RealtimeError): void;
}

/** What a getToken() failure is reported as: the registry has no code for "the app could not give a token". */
export function tokenSourceError(err: unknown): RealtimeError {
  const reason = err instanceof Error ? err.message : String(err);
  return new RealtimeError(ErrorCode.UNAVAILABLE, `getToken() failed: ${reason}`, { cause: err });
}

/**
 * Renews the connection's token in band. On every `auth-expiring` it asks
 * `getToken()` for a token and sends `auth-refresh`; a getToken() that
 * throws, a TIMEOUT, or a refused token (AUTH_INVALID, AUTH_EXPIRED, RATE_LIMITED)
 * is retried with a doubling delay, at most MAX_ATTEMPTS times and never past
 * the token's `exp`. Guarantees: one renewal at a time (a later
 * `auth-expiring` or `stop()` supersedes the running one, which then sends
 * nothing more); exactly one of `refreshed` / `failed` per renewal that
 * was not superseded.
 */
export class TokenRenewal {
  readonly #options: TokenRenewalOptions;
  #generation = 0;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: TokenRenewalOptions) {
    this.#options = options;
  }

  /** The server said the token expires at `expiresAt` (unix seconds). */
  expiring(expiresAt: number): void {
    this.stop();
    void this.#renew(this.#generation, expiresAt);
  }

  /** Stops the running renewal (disconnected, or closed). */
  stop(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  async #renew(generation: number, expiresAt: number): Promise<void> {
    const current = (): boolean => generation === this.#generation;
    let delayMs = FIRST_RETRY_DELAY_MS;
    let lastError = new RealtimeError(ErrorCode.AUTH_EXPIRED, 'the token could not be renewed');
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let token: string | undefined;
      try {
        token = await this.#options.getToken();
        if (typeof token !== 'string' || token === '') {
          token = undefined;
          lastError = tokenSourceError(new Error('it returned no token'));
        }
      } catch (err) {
        lastError = tokenSourceError(err);
      }
      if (!current()) return;
      if (token !== undefined) {
        try {
          const ack = await callWithAck(this.#options.socket, AUTH_REFRESH_EVENT, { token }, this.#options.ackTimeoutMs);
          if (current()) this.#options.refreshed(ack.expiresAt);
          return;
        } catch (err) {
          if (!current()) return;
          lastError = isRealtimeError(err) ? err : new RealtimeError(ErrorCode.INTERNAL, String(err), { cause: err });
          if (FINAL_REFUSALS.has(lastError.code)) break;
        }
      }
      if (attempt === MAX_ATTEMPTS || Date.now() + delayMs >= expiresAt * 1000) break;
      await this.#sleep(delayMs);
      if (!current()) return;
      delayMs *= 2;
    }
    this.#options.failed(lastError);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }
}
