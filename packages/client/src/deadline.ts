/** A point in time a call must be done by. */
export class Deadline {
  readonly #at: number;

  constructor(readonly timeoutMs: number) {
    this.#at = Date.now() + timeoutMs;
  }

  /** Milliseconds left, never negative. */
  remaining(): number {
    return Math.max(0, this.#at - Date.now());
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
