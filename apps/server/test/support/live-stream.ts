import type { Socket } from 'socket.io-client';
import type { RelayedEnvelope } from '@realtime/protocol';
import type { Member } from './cluster-clients.js';

/**
 * A publisher sending numbered messages to a channel at a steady rate, as
 * the guide sends (no ack), and what each member received and when: the
 * traffic a fault test interrupts.
 */
export interface LiveStream {
  /** The last number sent so far. */
  readonly sent: number;
  /** Numbers member `m` received, in arrival order. */
  seqs(m: number): number[];
  /** performance.now() of each arrival at member `m`, in arrival order. */
  arrivals(m: number): number[];
  /** When number `seq` was sent. */
  sentAt(seq: number): number;
  /**
   * Milliseconds from `since` until every member in `memberIndexes` had received
   * something sent after `since`; undefined while one has not.
   */
  resumedAfter(since: number, memberIndexes: readonly number[]): number | undefined;
  /** The longest time between two arrivals at member `m` within [from, to]. */
  longestGap(m: number, from: number, to: number): number;
  /** Stops sending; returns the last number sent. */
  stop(): number;
}

export function startLiveStream(publisher: Socket, members: readonly Member[], channel: string, intervalMs = 50): LiveStream {
  const received = members.map(() => [] as { seq: number; at: number }[]);
  members.forEach((m, i) => {
    m.socket.on(channel, (e: RelayedEnvelope) => received[i]!.push({ seq: Number(e.data.message), at: performance.now() }));
  });
  let seq = 0;
  const sentAt = new Map<number, number>();
  const timer = setInterval(() => {
    seq += 1;
    sentAt.set(seq, performance.now());
    publisher.emit(channel, { data: { roomChannel: channel, message: String(seq), roomId: null } });
  }, intervalMs);
  return {
    get sent() {
      return seq;
    },
    seqs: (m) => received[m]!.map((r) => r.seq),
    arrivals: (m) => received[m]!.map((r) => r.at),
    sentAt: (s) => sentAt.get(s) ?? Number.NaN,
    resumedAfter(since, memberIndexes) {
      const times = memberIndexes.map((m) => received[m]!.find((r) => (sentAt.get(r.seq) ?? 0) > since)?.at);
      if (times.some((t) => t === undefined)) return undefined;
      return Math.max(...(times as number[])) - since;
    },
    longestGap(m, from, to) {
      const times = [from, ...received[m]!.map((r) => r.at).filter((t) => t >= from && t <= to), to];
      let longest = 0;
      for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
      return longest;
    },
    stop() {
      clearInterval(timer);
      return seq;
    },
  };
}
