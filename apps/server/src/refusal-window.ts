/**
 * Whether more than `limit` events happened in any `windowMs` window: an
 * exact sliding window over the last `limit + 1` event times. Made only for
 * a connection that is refused at least once, so well-behaved connections
 * pay nothing; O(1) per event, `limit + 1` numbers of memory.
 */
export class RefusalWindow {
  private readonly times: Float64Array;
  private next = 0;
  private recorded = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.times = new Float64Array(limit + 1);
  }

  /** Records one event at `now` (ms); true once more than `limit` fall within the last `windowMs`. */
  record(now = performance.now()): boolean {
    const size = this.times.length;
    this.times[this.next] = now;
    this.next = (this.next + 1) % size;
    this.recorded = Math.min(this.recorded + 1, size);
    // With the ring full, `next` now points at the oldest of the last limit + 1 events.
    return this.recorded === size && now - (this.times[this.next] as number) < this.windowMs;
  }
}
