import { ProtocolEvent } from '@realtime/protocol';
import { delay, nowMs } from '../clock.js';
import type { LoadClient } from '../client.js';
import { channelName, channelTopic } from '../topics.js';
import type { WorkerContext } from '../worker/context.js';

/** Presence as one worker's members saw it during the storm. */
export interface StormWorkerStats {
  /** Clients that took part (connected before the storm). */
  members: number;
  /** The count every member should settle at: all clients connected before the storm. */
  expected: number;
  stormStartAt: number;
  acked: number;
  ackFailures: number;
  lastAckAt: number | null;
  /** Members whose last `online-users` equals `expected`. */
  settledMembers: number;
  /** When the last member's count reached its final value `expected` (epoch ms); null unless all settled. */
  settledAt: number | null;
  /** Members by the last count they saw (`"none"` for members that saw none). */
  finalCounts: Record<string, number>;
  /** `online-users` announcements lower than the previous one the same member saw. */
  decreases: number;
  membersWithDecrease: number;
  /** Per member: `online-users` announcements received. */
  onlineUsersEvents: number[];
  /** Per member: `join-channel` events received. */
  joinEvents: number[];
  lastJoinEventAt: number | null;
}

/** The shortest silence of presence events that ends a settled storm (ms). */
export const PRESENCE_QUIET_MS = 500;

interface MemberState {
  client: LoadClient;
  acked: boolean | null;
  last: number | undefined;
  reachedAt: number | null;
  decreases: number;
  onlineUsers: number;
  joins: number;
}

/**
 * join-storm: every client connects first (not measured as the storm); then
 * all join one channel at the same instant, in every worker. Each member's
 * `online-users` stream is watched: does it settle at N, how many
 * announcements did it take, did it ever go down? Ends when every member of
 * this worker is acknowledged and settled at N, or at ack-timeout + drain.
 */
export async function runJoinStorm(ctx: WorkerContext): Promise<void> {
  const { options } = ctx;
  const topic = channelTopic(channelName(options.runId, 'storm'));
  const start = await ctx.barrier('start', null);
  ctx.phase = 'connecting';
  const connected: LoadClient[] = [];
  await ctx.ramp(ctx.indices, start.at, async (client) => {
    connected.push(client);
  });

  const storm = await ctx.barrier('connected', connected.length);
  const expected = storm.payloads.reduce((a, b) => a + b, 0);
  const members: MemberState[] = connected.map((client) => ({
    client,
    acked: null,
    last: undefined,
    reachedAt: null,
    decreases: 0,
    onlineUsers: 0,
    joins: 0,
  }));
  let lastJoinEventAt: number | null = null;
  let lastAckAt: number | null = null;
  // Presence traffic seen by this worker: the storm is over once it has been quiet for a while.
  let lastPresenceAt = 0;
  let longestGap = 0;
  const presenceEvent = (now: number): void => {
    if (lastPresenceAt > 0) longestGap = Math.max(longestGap, now - lastPresenceAt);
    lastPresenceAt = now;
  };
  for (const member of members) {
    member.client.on(ProtocolEvent.OnlineUsers, (payload) => {
      if (payload?.data?.roomChannel !== topic.channel) return;
      const count = payload.data.onlineUsers;
      if (typeof count !== 'number') return;
      const now = nowMs();
      presenceEvent(now);
      member.onlineUsers++;
      if (member.last !== undefined && count < member.last) member.decreases++;
      if (count === expected && member.last !== expected) member.reachedAt = now;
      if (count !== expected) member.reachedAt = null;
      member.last = count;
    });
    member.client.on(ProtocolEvent.JoinChannel, (payload) => {
      if (payload?.data?.roomChannel !== topic.channel) return;
      member.joins++;
      lastJoinEventAt = nowMs();
      presenceEvent(lastJoinEventAt);
    });
  }

  await ctx.until(storm.at);
  ctx.phase = 'storm';
  await Promise.all(
    members.map(async (member) => {
      const outcome = await ctx.join(member.client, topic);
      member.acked = outcome.ok;
      if (outcome.ok) lastAckAt = nowMs();
    }),
  );

  // Done when every member's count is N and presence traffic has gone quiet: `join-channel` events may
  // still be arriving after the counts settled (a server may send them at low priority), and a stale
  // count arriving late would be a decrease. Quiet = no event for 3 × the longest gap seen (≥ 500 ms).
  const deadline = storm.at + options.ackTimeoutMs + options.drainMs;
  const settled = (): boolean => members.every((m) => m.acked === false || m.last === expected);
  const quiet = (): boolean => nowMs() - lastPresenceAt >= Math.max(PRESENCE_QUIET_MS, 3 * longestGap);
  while (!ctx.aborted && nowMs() < deadline && !(settled() && quiet())) await delay(Math.min(20, deadline - nowMs()), ctx.signal);

  const finalCounts: Record<string, number> = {};
  for (const m of members) {
    const key = m.last === undefined ? 'none' : String(m.last);
    finalCounts[key] = (finalCounts[key] ?? 0) + 1;
  }
  const settledMembers = members.filter((m) => m.last === expected).length;
  ctx.presence = {
    members: members.length,
    expected,
    stormStartAt: storm.at,
    acked: members.filter((m) => m.acked === true).length,
    ackFailures: members.filter((m) => m.acked !== true).length,
    lastAckAt,
    settledMembers,
    settledAt: settledMembers === members.length ? Math.max(...members.map((m) => m.reachedAt ?? 0), 0) || null : null,
    finalCounts,
    decreases: members.reduce((a, m) => a + m.decreases, 0),
    membersWithDecrease: members.filter((m) => m.decreases > 0).length,
    onlineUsersEvents: members.map((m) => m.onlineUsers),
    joinEvents: members.map((m) => m.joins),
    lastJoinEventAt,
  };
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
  decreases: number;
  membersWithDecrease: number;
  onlineUsersPerMember: { min: number; mean: number; max: number };
  joinEventsPerMember: { min: number; mean: number; max: number };
}

function spread(values: readonly number[]): { min: number; mean: number; max: number } {
  if (values.length === 0) return { min: 0, mean: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, mean: Math.round((sum / values.length) * 10) / 10, max };
}

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
  return {
    members,
    expected: present[0]!.expected,
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
    decreases: present.reduce((a, s) => a + s.decreases, 0),
    membersWithDecrease: present.reduce((a, s) => a + s.membersWithDecrease, 0),
    onlineUsersPerMember: spread(present.flatMap((s) => s.onlineUsersEvents)),
    joinEventsPerMember: spread(present.flatMap((s) => s.joinEvents)),
  };
}
