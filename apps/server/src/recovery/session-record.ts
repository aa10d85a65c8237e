import type { Position } from '@realtime/presence';
import type { SenderIdentity } from '../envelopes.js';

/** `[sequence number, offset, epoch, tag]`, or `[sequence number]` for an event this node delivered without storing it (Redis failed). */
export type RecordedDelivery = [q: number, offset: number, epoch: string, tag: string] | [q: number];

/** What a lost connection's session keeps of one of its channels and rooms. */
export interface TopicRecord {
  topic: string;
  /** Server time of the join (member lists show it). */
  joinedAt: string;
  /** The topic's last event delivered on its node before the join, if the node had one: the connection has everything up to it. */
  base?: RecordedDelivery;
  /** The newest event of the topic it certainly received after the join, if any. */
  received?: RecordedDelivery;
  /** Events of the topic its node sent it afterwards, oldest first: it got those up to its offset token. */
  sent: RecordedDelivery[];
}

/**
 * A lost connection, kept for RECOVERY_WINDOW_MS (Redis `{s:<pid>}`): who it
 * was and where it stood in each channel and room. Written by its node when
 * it detects the loss (Socket.IO's persistSession), taken once by whichever
 * node the client comes back to.
 */
export interface SessionRecord {
  v: 1;
  sid: string;
  /** The token's `sub`; null when anonymous. Only the same user may take the session over. */
  userId: string | null;
  /** The node run whose offset tokens the connection holds. */
  runId: string;
  identity: SenderIdentity;
  /** The presence node id its memberships are stored under (kept for PRESENCE_GRACE_MS): the node that recovers it takes them over. */
  node?: string;
  lostAtMs: number;
  topics: TopicRecord[];
}

/** Where replay of one topic starts: after `from`, or at `from` itself (`inclusive`: known but not received). */
export interface ReplayStart {
  topic: string;
  from: Position;
  inclusive: boolean;
}

export type ReplayPlan = { ok: true; starts: ReplayStart[] } | { ok: false; reason: string };

const positionOf = (d: RecordedDelivery): Position | undefined => (d.length === 4 ? { offset: d[1], epoch: d[2], tag: d[3] } : undefined);

/**
 * Each topic's replay start, from the session and the offset token the
 * client sent back (its last event's sequence number, `q`; -Infinity when
 * it holds no token of the session's run: it received nothing of it).
 * Refused, never guessed, when a topic's position cannot be known exactly,
 * or an event the connection may have missed was never stored.
 */
export function planReplay(record: SessionRecord, q: number): ReplayPlan {
  const starts: ReplayStart[] = [];
  for (const topic of record.topics) {
    const candidates = [...(topic.received === undefined ? [] : [topic.received]), ...topic.sent];
    let at = -1;
    for (let i = 0; i < candidates.length; i++) if ((candidates[i] as RecordedDelivery)[0] <= q) at = i;
    // Everything after the position must be in the history.
    if (candidates.slice(at + 1).some((d) => d.length !== 4)) return { ok: false, reason: 'unstored' };
    if (at >= 0) {
      const position = positionOf(candidates[at] as RecordedDelivery);
      if (position === undefined) {
        // Received, but never stored: the next stored one tells where it stood only if it follows on.
        return { ok: false, reason: 'unstored' };
      }
      starts.push({ topic: topic.topic, from: position, inclusive: false });
      continue;
    }
    // The token is older than an event it certainly received: not this connection's.
    if (topic.received !== undefined) return { ok: false, reason: 'token' };
    const base = topic.base === undefined ? undefined : positionOf(topic.base);
    if (topic.base !== undefined && base === undefined) return { ok: false, reason: 'unstored' };
    if (base !== undefined) {
      starts.push({ topic: topic.topic, from: base, inclusive: false });
      continue;
    }
    const first = topic.sent[0] === undefined ? undefined : positionOf(topic.sent[0]);
    // Neither where it joined nor any event since is known: nothing to start from.
    if (first === undefined) return { ok: false, reason: 'unknown' };
    starts.push({ topic: topic.topic, from: first, inclusive: true });
  }
  return { ok: true, starts };
}

/** The token socket.io-client sends back: `<run>.<q in base 36>`; undefined for anything else. */
export function parseOffsetToken(token: string): { runId: string; q: number } | undefined {
  if (token.length > 40) return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const digits = token.slice(dot + 1);
  if (!/^[0-9a-z]{1,11}$/.test(digits)) return undefined;
  return { runId: token.slice(0, dot), q: parseInt(digits, 36) };
}
