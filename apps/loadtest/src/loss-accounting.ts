import { SequenceTracker } from './sequence-tracker.js';
import type { MembershipLog, StreamLog } from './worker/protocol.js';

export interface LossFigures {
  /** Deliveries the memberships called for. */
  expected: number;
  /** Of those, received by the end of the drain. */
  received: number;
  lost: number;
  /** Lost, by the receiver's target. */
  lostByTarget: number[];
}

/** First index i with values[i] ≥ x (values ascending). */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with values[i] > x. */
function upperBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Expected and lost deliveries, from what every stream sent (with send
 * times) and what every membership received.
 *
 * A receiver is expected to get message `seq` of a stream on its topic when
 * it was a member for the message's whole span: its join was acknowledged
 * at or before the send, and it had not left (leave sent or connection
 * closed) before `send + spanMs`. Messages the server refused are expected
 * nowhere. Send times only grow along a stream, so each membership expects a
 * contiguous range of each stream, found by binary search.
 */
export function accountLosses(
  streams: readonly StreamLog[],
  memberships: readonly MembershipLog[],
  targets: number,
  spanMs: number,
): LossFigures {
  const byTopic = new Map<string, { log: StreamLog; refused: number[] }[]>();
  for (const log of streams) {
    const list = byTopic.get(log.topic) ?? [];
    list.push({ log, refused: [...log.refused].sort((a, b) => a - b) });
    byTopic.set(log.topic, list);
  }
  const figures: LossFigures = { expected: 0, received: 0, lost: 0, lostByTarget: new Array<number>(targets).fill(0) };
  for (const membership of memberships) {
    if (membership.joinedAt === null) continue;
    for (const { log, refused } of byTopic.get(membership.topic) ?? []) {
      const first = lowerBound(log.sentAt, membership.joinedAt) + 1;
      const last = membership.leftAt === null ? log.sentAt.length : upperBound(log.sentAt, membership.leftAt - spanMs);
      if (last < first) continue;
      const refusedInside = upperBound(refused, last) - lowerBound(refused, first);
      const expected = last - first + 1 - refusedInside;
      const ranges = membership.received[log.stream];
      const received = ranges === undefined ? 0 : SequenceTracker.fromRanges(ranges).countInRange(first, last);
      const lost = Math.max(0, expected - received);
      figures.expected += expected;
      figures.received += expected - lost;
      figures.lost += lost;
      if (membership.target < targets) figures.lostByTarget[membership.target]! += lost;
    }
  }
  return figures;
}
