/**
 * A warning written at most once per `intervalMs`: the first occurrence is
 * logged at once, later ones within the interval are only counted, and the
 * next line says how many there were. A Redis outage seen by every
 * handshake thus costs one log line per interval, not one per handshake.
 */
export class ThrottledWarning {
  #lastAt: number | undefined;
  #suppressed = 0;

  constructor(
    private readonly write: (occurrencesSinceLastLine: number, err: unknown) => void,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  occurred(err: unknown): void {
    const at = this.now();
    if (this.#lastAt !== undefined && at - this.#lastAt < this.intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#lastAt = at;
    const occurrences = this.#suppressed + 1;
    this.#suppressed = 0;
    this.write(occurrences, err);
  }
}
