import { ErrorCode } from '@realtime/protocol';
import type { Deadline } from './deadline.js';
import { RealtimeError } from './realtime-error.js';

interface Waiter {
  resolve(): void;
  reject(error: RealtimeError): void;
}

/**
 * Where calls wait for a connection. Every waiter is settled exactly once:
 * when the socket connects, when its deadline passes (TIMEOUT), or when
 * the client can no longer connect (closed, refused for good).
 */
export class ConnectionGate {
  readonly #waiters = new Set<Waiter>();
  #failure: RealtimeError | undefined;

  /** Resolves once `isOpen()` holds (at once if it does). */
  wait(isOpen: () => boolean, deadline: Deadline): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (isOpen()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new RealtimeError(ErrorCode.TIMEOUT, `not connected within ${deadline.timeoutMs} ms: nothing was sent`));
      }, deadline.remaining());
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The socket connected: every waiter proceeds. */
  open(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) waiter.resolve();
  }

  /** No connection will come: every waiter, and every later one, rejects with `error`. */
  fail(error: RealtimeError): void {
    this.#failure = error;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  get failure(): RealtimeError | undefined {
    return this.#failure;
  }
}
