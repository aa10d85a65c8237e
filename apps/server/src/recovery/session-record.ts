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

/** What a live connection keeps of one of its channels and rooms in its run's journal: its track. */
export interface LiveTopic {
  topic: string;
  joinedAt: string;
  /** The log's sequence number when it joined (or was recovered into) the topic. */
  fromQ: number;
  base?: RecordedDelivery;
  /** What a recovery replayed to it (left out past a bound: then `base` is the replay's end, and `sentOmittedBeforeQ` set). */
  sent: RecordedDelivery[];
  /** Offsets below this fell in a replay that is not kept: refused. */
  sentOmittedBeforeQ?: number;
}

/**
 * A live connection as its node's run journal keeps it in Redis (written
 * when its channels and rooms change, removed when it ends or its session
 * is saved): what a survivor needs to recover it if the node is killed.
 */
export interface LiveSession {
  v: 1;
  sid: string;
  userId: string | null;
  identity: SenderIdentity;
  /** Its presence node id (whose memberships the recovering node takes over). */
  node: string;
  topics: LiveTopic[];
}

/** A killed run's delivery log as `readRunLog` gives it (see run-journal.ts). */
export interface KilledRunLog {
  floorQ: number;
  throughQ: number;
  entries: ReadonlyMap<string, readonly { q: number; position: Position | undefined }[]>;
  last: ReadonlyMap<string, { q: number; position: Position | undefined }>;
}

const recordedOf = (d: { q: number; position: Position | undefined }): RecordedDelivery =>
  d.position === undefined ? [d.q] : [d.q, d.position.offset, d.position.epoch, d.position.tag];

/**
 * The session of a connection whose node was killed, from its live record
 * and what the run's journal kept, for the connection's offset token `q`:
 * the same record its node would have saved, with every delivery after
 * each join counted as maybe received. Undefined (refused, never guessed)
 * when `q` is past what the journal stored (the last turn before the kill),
 * or where a topic's position at `q` fell in what the journal trimmed.
 */
export function killedRunRecord(live: LiveSession, runId: string, log: KilledRunLog, q: number): SessionRecord | undefined {
  if (q > log.throughQ) return undefined;
  const topics: TopicRecord[] = [];
  for (const track of live.topics) {
    if (track.sentOmittedBeforeQ !== undefined && q < track.sentOmittedBeforeQ) return undefined;
    const after = (log.entries.get(track.topic) ?? []).filter((d) => d.q > track.fromQ);
    // Everything after the join is kept, unless the join is older than what the journal still holds.
    const whole = track.fromQ + 1 >= log.floorQ;
    let received: RecordedDelivery | undefined;
    if (!whole) {
      const newest = log.last.get(track.topic);
      if (after.length > 0 && q < after[0]!.q) return undefined;
      if (after.length === 0 && newest !== undefined && newest.q > track.fromQ) {
        // Its only known delivery since the join is older than the journal: placed only if certainly received.
        if (q < newest.q) return undefined;
        received = recordedOf(newest);
      }
    }
    topics.push({
      topic: track.topic,
      joinedAt: track.joinedAt,
      ...(track.base === undefined ? {} : { base: track.base }),
      ...(received === undefined ? {} : { received }),
      // A replay was sent before the join's `fromQ`: before `received`, if that is known (as a saved session has it).
      sent: received === undefined ? [...track.sent, ...after.map(recordedOf)] : after.map(recordedOf),
    });
  }
  return { v: 1, sid: live.sid, userId: live.userId, runId, identity: live.identity, node: live.node, lostAtMs: Date.now(), topics };
}
