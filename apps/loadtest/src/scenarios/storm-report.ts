import { binValues, spread, type Bin, type Spread } from '../distribution.js';
import { createHistogram, percentilesOf, type LatencyPercentiles } from '../latency-recorder.js';
import type { StormWorkerStats } from './join-storm.js';
import { mergeCountSeries, type CountOverTime } from './storm-counts.js';

/** Presence events per member: the spread and, for a bar chart, how many members got how many. */
export interface PerMemberEvents extends Spread {
  /** Members by events received (`count` = members). */
  distribution: Bin[];
}

/** The storm as the report shows it; times in ms from the storm's start. */
export interface PresenceReport {
  members: number;
  expected: number;
  /** Every member's last count equals `expected`. */
  settled: boolean;
  settledMembers: number;
  /** The count the members settled at (the most common last count). */
  settledCount: number | null;
  finalCounts: Record<string, number>;
  /** Storm start → last join acknowledged. */
  timeToAckAllMs: number | null;
  /** Storm start → every member's count at `expected`. */
  timeToSettleMs: number | null;
  /** Last join acknowledged → settled (negative when counts settled before the last ack arrived). */
  lastAckToSettleMs: number | null;
  /** Last `join-channel` delivered to any member → settled (negative when counts settled before the last one arrived). */
  lastJoinEventToSettleMs: number | null;
  acked: number;
  ackFailures: number;
  /** Emitting `join-channel` → its acknowledgement, acknowledged joins (HDR, as every latency in the report). */
  ackLatency: LatencyPercentiles;
  /** Acknowledged joins by latency (ms bins; `count` = joins). */
  ackLatencyBins: Bin[];
  /** The `online-users` count members held over time, min/median/max across all members. */
  countOverTime: CountOverTime;
  decreases: number;
  membersWithDecrease: number;
  onlineUsersPerMember: PerMemberEvents;
  joinEventsPerMember: PerMemberEvents;
}

function perMember(values: readonly number[]): PerMemberEvents {
  return { ...spread(values), distribution: binValues(values, 'integer') };
}

/** The percentiles of `values` (ms) through an HDR histogram, so they round exactly as `joins.latency` does. */
function latencyOf(values: readonly number[]): LatencyPercentiles {
  const histogram = createHistogram();
  for (const ms of values) histogram.recordValue(Math.max(0, Math.round(ms * 1000)));
  const percentiles = percentilesOf(histogram);
  histogram.destroy();
  return percentiles;
}

/** Merges the workers' storm figures (null for a scenario other than join-storm). */
export function mergePresence(stats: readonly (StormWorkerStats | null)[]): PresenceReport | null {
  const present = stats.filter((s): s is StormWorkerStats => s !== null);
  if (present.length === 0) return null;
  const start = Math.min(...present.map((s) => s.stormStartAt));
  const members = present.reduce((a, s) => a + s.members, 0);
  const settledMembers = present.reduce((a, s) => a + s.settledMembers, 0);
  const settled = settledMembers === members && present.every((s) => s.settledAt !== null);
  const settledAt = settled ? Math.max(...present.map((s) => s.settledAt as number)) : null;
  const acks = present.map((s) => s.lastAckAt).filter((t): t is number => t !== null);
  const lastAckAt = acks.length > 0 ? Math.max(...acks) : null;
  const joinEvents = present.map((s) => s.lastJoinEventAt).filter((t): t is number => t !== null);
  const lastJoinEventAt = joinEvents.length > 0 ? Math.max(...joinEvents) : null;
  const finalCounts: Record<string, number> = {};
  for (const s of present) for (const [k, n] of Object.entries(s.finalCounts)) finalCounts[k] = (finalCounts[k] ?? 0) + n;
  const common = Object.entries(finalCounts).sort((a, b) => b[1] - a[1])[0]?.[0];
  const ms = (t: number | null, from: number | null): number | null => (t === null || from === null ? null : Math.round(t - from));
  const expected = present[0]!.expected;
  const ackLatencyMs = present.flatMap((s) => s.ackLatencyMs);
  return {
    members,
    expected,
    settled,
    settledMembers,
    settledCount: common === undefined || common === 'none' ? null : Number(common),
    finalCounts,
    timeToAckAllMs: ms(lastAckAt, start),
    timeToSettleMs: ms(settledAt, start),
    lastAckToSettleMs: ms(settledAt, lastAckAt),
    lastJoinEventToSettleMs: ms(settledAt, lastJoinEventAt),
    acked: present.reduce((a, s) => a + s.acked, 0),
    ackFailures: present.reduce((a, s) => a + s.ackFailures, 0),
    ackLatency: latencyOf(ackLatencyMs),
    ackLatencyBins: binValues(ackLatencyMs, 'continuous'),
    countOverTime: mergeCountSeries(
      present.map((s) => s.counts),
      expected,
    ),
    decreases: present.reduce((a, s) => a + s.decreases, 0),
    membersWithDecrease: present.reduce((a, s) => a + s.membersWithDecrease, 0),
    onlineUsersPerMember: perMember(present.flatMap((s) => s.onlineUsersEvents)),
    joinEventsPerMember: perMember(present.flatMap((s) => s.joinEvents)),
  };
}
