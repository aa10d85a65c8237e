/**
 * The backoff of a connection the server refused with a retryable code
 * (CONNECTION_LIMIT): socket.io-client never retries a refusal from the
 * server's middleware, so the SDK does, with socket.io-client's own
 * reconnection shape: `initialMs` doubled per attempt up to `maxMs`, each
 * wait randomised by ±50% so refused clients do not come back in step.
 */
export class ConnectRetry {
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next attempt (the attempt count goes up). */
  nextDelayMs(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const jittered = base * (0.5 + this.random());
    return Math.round(Math.min(this.maxMs, jittered));
  }

  /** Runs `attempt` after the next delay; a retry already scheduled is replaced. */
  schedule(attempt: () => void): number {
    this.cancel();
    const delayMs = this.nextDelayMs();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      attempt();
    }, delayMs);
    return delayMs;
  }

  /** Connected (or closed): the next refusal starts from `initialMs` again. */
  reset(): void {
    this.cancel();
    this.#attempt = 0;
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
