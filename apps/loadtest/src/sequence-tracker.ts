export type SeqRange = [first: number, last: number];

export type RecordOutcome = 'in-order' | 'duplicate' | 'out-of-order';

/**
 * What one receiver got of one sender's sequence (1, 2, 3, …), kept as
 * sorted, disjoint, non-adjacent ranges: in-order delivery is O(1) and a
 * handful of ranges, whatever the run's length.
 *
 * - duplicate: a sequence number already received;
 * - out-of-order: a new number lower than the highest one received;
 * - missing (lost) numbers are judged later, against what was sent
 *   (see loss-accounting.ts): a tracker alone cannot see a lost tail.
 */
export class SequenceTracker {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Distinct sequence numbers received. */
  received = 0;
  duplicates = 0;
  outOfOrder = 0;

  /** Rebuilds a tracker from {@link ranges} output (sorted, disjoint). */
  static fromRanges(ranges: readonly SeqRange[]): SequenceTracker {
    const tracker = new SequenceTracker();
    for (const [first, last] of ranges) {
      tracker.starts.push(first);
      tracker.ends.push(last);
      tracker.received += last - first + 1;
    }
    return tracker;
  }

  record(seq: number): RecordOutcome {
    const n = this.ends.length;
    const lastEnd = n === 0 ? 0 : (this.ends[n - 1] as number);
    if (n > 0 && seq === lastEnd + 1) {
      this.ends[n - 1] = seq;
      this.received++;
      return 'in-order';
    }
    if (n === 0 || seq > lastEnd + 1) {
      this.starts.push(seq);
      this.ends.push(seq);
      this.received++;
      return 'in-order';
    }
    // seq ≤ lastEnd: either seen already or filling a gap.
    const i = this.firstRangeEndingAtOrAfter(seq);
    if ((this.starts[i] as number) <= seq) {
      this.duplicates++;
      return 'duplicate';
    }
    this.received++;
    this.outOfOrder++;
    const joinsPrevious = i > 0 && (this.ends[i - 1] as number) === seq - 1;
    const joinsNext = (this.starts[i] as number) === seq + 1;
    if (joinsPrevious && joinsNext) {
      this.ends[i - 1] = this.ends[i] as number;
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (joinsPrevious) {
      this.ends[i - 1] = seq;
    } else if (joinsNext) {
      this.starts[i] = seq;
    } else {
      this.starts.splice(i, 0, seq);
      this.ends.splice(i, 0, seq);
    }
    return 'out-of-order';
  }

  has(seq: number): boolean {
    if (this.ends.length === 0 || seq > (this.ends[this.ends.length - 1] as number)) return false;
    const i = this.firstRangeEndingAtOrAfter(seq);
    return (this.starts[i] as number) <= seq;
  }

  /** Distinct sequence numbers received in [first, last]. */
  countInRange(first: number, last: number): number {
    if (last < first || this.ends.length === 0) return 0;
    let count = 0;
    for (let i = this.firstRangeEndingAtOrAfter(first); i < this.ends.length; i++) {
      const start = this.starts[i] as number;
      if (start > last) break;
      count += Math.min(last, this.ends[i] as number) - Math.max(first, start) + 1;
    }
    return count;
  }

  /** The highest number received, 0 when none. */
  get highest(): number {
    return this.ends.length === 0 ? 0 : (this.ends[this.ends.length - 1] as number);
  }

  /** Numbers missing between the lowest and the highest received (gaps so far; a lost tail is not visible here). */
  get gaps(): number {
    if (this.ends.length === 0) return 0;
    return (this.ends[this.ends.length - 1] as number) - (this.starts[0] as number) + 1 - this.received;
  }

  ranges(): SeqRange[] {
    return this.starts.map((start, i) => [start, this.ends[i] as number]);
  }

  /** Index of the first range whose end is ≥ seq (binary search); ranges.length when none. */
  private firstRangeEndingAtOrAfter(seq: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ends[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
