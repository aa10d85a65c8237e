import { ProtocolEvent } from '@realtime/protocol';
import { delay, nowMs } from '../clock.js';
import type { LoadClient } from '../client.js';
import { channelName, channelTopic } from '../topics.js';
import type { WorkerContext } from '../worker/context.js';
import { CountStepRecorder, type WorkerCountSeries } from './storm-counts.js';

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
  /** Per acknowledged member: emitting `join-channel` → its acknowledgement (ms). */
  ackLatencyMs: number[];
  /** The counts this worker's members held over time, on the shared grid from `stormStartAt`. */
  counts: WorkerCountSeries;
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
 * join acknowledgement is timed and its `online-users` stream is watched:
 * which counts was it told when, does it settle at N, how many
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
  const counts = new CountStepRecorder(storm.at);
  const ackLatencyMs: number[] = [];
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
      counts.change(now, member.last, count);
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
      if (!outcome.ok) return;
      lastAckAt = nowMs();
      ackLatencyMs.push(outcome.ms);
    }),
  );

  // Done when every member's count is N and presence traffic has gone quiet: `join-channel` events may
  // still be arriving after the counts settled (a server may send them at low priority), and a stale
  // count arriving late would be a decrease. Quiet = no event for 3 × the longest gap seen (≥ 500 ms).
  const deadline = storm.at + options.ackTimeoutMs + options.drainMs;
  const settled = (): boolean => members.every((m) => m.acked === false || m.last === expected);
  const quiet = (): boolean => nowMs() - lastPresenceAt >= Math.max(PRESENCE_QUIET_MS, 3 * longestGap);
  while (!ctx.aborted && nowMs() < deadline && !(settled() && quiet())) await delay(Math.min(20, deadline - nowMs()), ctx.signal);
  const endedAt = nowMs();

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
    ackLatencyMs,
    counts: counts.finish(members.length, endedAt),
  };
}
