import type { Logger } from 'pino';
import type { Session } from 'socket.io-adapter';
import { ErrorCode, type RelayedEnvelope } from '@realtime/protocol';
import type { HistoryItem, Position, TopicHistory } from '@realtime/presence';
import { allows } from '../auth/channel-grants.js';
import { stampEnvelope } from '../envelopes.js';
import { refuseHandshake } from '../handshake-refusal.js';
import type { Metrics } from '../metrics.js';
import type { NodePresence } from '../node-presence.js';
import type { RealtimeServer, RealtimeSocket } from '../socket-types.js';
import { isTopic, parseTopic } from '../topics.js';
import type { Delivery, DeliveryLog } from './delivery-log.js';
import { emitToConnection } from './emit-to-connection.js';
import { parseOffsetToken, planReplay, type RecordedDelivery, type SessionRecord, type TopicRecord } from './session-record.js';
import { isSessionId, type SessionStore } from './session-store.js';
import type { Hold, StoredEvent, TopicFeed } from './topic-feed.js';
import type { KilledRuns, RunJournal } from './run-journal.js';
import { killedRunRecord, type LiveSession } from './session-record.js';
import { sessionIdOf } from './session-id.js';

/** Where a connection stands in one topic: what its node sent it there, and from where. */
export interface TopicTrack {
  /** The log's sequence number when it joined (or was recovered into) the topic: later deliveries reached it. */
  fromQ: number;
  /** Where it stood at `fromQ`, if known. */
  base: Delivery | undefined;
  /** What a recovery replayed to it, each with the sequence number of its token. */
  sent: Delivery[];
}

/** A session read and its history fetched: applied when the socket connects, or abandoned. */
export interface PendingRecovery {
  /** The session id it was taken under. */
  pid: string;
  record: SessionRecord;
  replays: { topic: string; from: Position; inclusive: boolean; items: HistoryItem[]; holds: Hold }[];
  /** Topics this node subscribed only for the recovery. */
  watchedHere: string[];
  timer: NodeJS.Timeout | undefined;
}

export interface SessionRecoveryOptions {
  io: RealtimeServer;
  log: DeliveryLog;
  feed: TopicFeed;
  history: TopicHistory;
  sessions: SessionStore;
  presence: NodePresence;
  metrics: Metrics;
  logger: Logger;
  /** RECOVERY_WINDOW_MS: a session lives this long after its connection was found lost. */
  windowMs: number;
  /** RECOVERY_MAX_MESSAGES_PER_TOPIC: more missed in one topic, and the connection starts empty. */
  maxMessagesPerTopic: number;
  /** PING_INTERVAL_MS + PING_TIMEOUT_MS + slack: what was sent longer ago than this before a loss was received. */
  uncertainMs: number;
  /** How long a fetched session waits for its socket to connect before it is dropped (CONNECT_TIMEOUT_MS). */
  pendingTimeoutMs: number;
  /** This run's journal in Redis (live sessions and the delivery log), so that a survivor can recover this node's connections if it is killed. */
  journal?: RunJournal;
  /** Where the journals of killed runs are read. */
  killed?: KilledRuns;
  /** How long a connection back from a killed node waits for that node to count as dead (NODE_TTL_MS and a little). */
  killedNodeWaitMs: number;
  /** NODE_TTL_MS: a node silent longer is dead. */
  nodeTtlMs: number;
  /** Called right before a recovered connection joins its topics (see TopicDelivery.exclude). */
  beforeJoin?: (socketId: string, topics: ReadonlySet<string>) => void;
}

type Outcome =
  'saved' | 'save_failed' | 'recovered' | 'unknown' | 'refused_position' | 'refused_history' | 'refused_user' | 'failed' | 'abandoned';

/** Replayed deliveries a live session record keeps in all (a bound on what one connection writes to Redis per change). */
const MAX_LIVE_SENT = 256;

/** How long a recovery waits for live delivery to catch up with what it read (pub/sub lags by milliseconds). */
const CATCH_UP_TIMEOUT_MS = 3000;

const recorded = (d: Delivery): RecordedDelivery =>
  d.position === undefined ? [d.q] : [d.q, d.position.offset, d.position.epoch, d.position.tag];

/**
 * Connection state recovery over Socket.IO's own hooks (the adapter's
 * persistSession / restoreSession, called by Socket.IO with the client's
 * session id and last offset token), so plain socket.io-client recovers:
 * the same socket id, its channels and rooms, and every event they got
 * meanwhile, in order, once, before new ones.
 *
 * - persist: when its node detects the loss of a connection (transport
 *   closed or failed, ping timeout, drain), where it stands in each topic is
 *   saved for RECOVERY_WINDOW_MS.
 * - restore (before the socket exists): the session is taken, each topic's
 *   position found from the offset token, the topics subscribed here and
 *   held, and their history since read. Any doubt (window passed, a topic's
 *   history lost or past the cap, a position that cannot be known, an event
 *   delivered while Redis failed) answers null: the connection starts empty
 *   and `socket.recovered` is false. Never a silent gap.
 * - middleware (after authentication): only the session's user may take it over.
 * - connection: in one synchronous step the socket joins its rooms, gets
 *   the replay and then what arrived while the history was read (by offset,
 *   nothing twice), and live delivery continues from there.
 */
export function sessionRecovery(options: SessionRecoveryOptions) {
  const { io, log, feed, history, sessions, metrics, logger } = options;
  const count = (outcome: Outcome): void => metrics.recoveries.inc({ outcome });

  const abandon = (pending: PendingRecovery): void => {
    clearTimeout(pending.timer);
    const rooms = io.of('/').adapter.rooms;
    for (const replay of pending.replays) replay.holds.release();
    for (const topic of pending.watchedHere) if (!rooms.has(topic)) feed.unwatch(topic);
  };

  /** Socket.IO's persistSession: the connection was lost for a recoverable reason. */
  function persist(session: Parameters<import('socket.io-adapter').Adapter['persistSession']>[0]): void {
    const socket = io.of('/').sockets.get(session.sid);
    const data = socket?.data;
    if (data === undefined) return;
    const lostAtMs = Date.now();
    const topics: TopicRecord[] = [];
    for (const topic of session.rooms) {
      if (!isTopic(topic)) continue;
      const track = data.tracks.get(topic);
      if (track === undefined) continue;
      const { before, entries } = log.after(topic, track.fromQ, lostAtMs - options.uncertainMs);
      // A recovery's replay was sent before `fromQ`: all of it before `before`, if that is known.
      const sent = before === undefined ? [...track.sent, ...entries] : entries;
      topics.push({
        topic,
        joinedAt: data.joinedAt.get(topic) ?? new Date(lostAtMs).toISOString(),
        ...(track.base === undefined ? {} : { base: recorded(track.base) }),
        ...(before === undefined ? {} : { received: recorded(before) }),
        sent: sent.map(recorded),
      });
    }
    const record: SessionRecord = {
      v: 1,
      sid: session.sid,
      userId: data.principal.userId ?? null,
      runId: log.runId,
      identity: data.identity,
      node: options.presence.nodeId,
      lostAtMs,
      topics,
    };
    // Its memberships stay for the grace (see socket-handlers' `disconnect`).
    data.kept = true;
    // The saved session supersedes the live one, which goes only once the save is answered: a node
    // that finds neither has the saved one to read (see fromKilledRun).
    const endLive = (): void => options.journal?.session(session.pid, undefined);
    sessions.save(session.pid, record, options.windowMs).then(
      () => {
        count('saved');
        endLive();
      },
      (err: unknown) => {
        count('save_failed');
        endLive();
        release(record);
        logger.warn(
          { err, event: 'session-save-failed' },
          'a lost connection’s session could not be saved: it will start empty if it comes back',
        );
      },
    );
  }

  /** A taken session that will not be recovered: its memberships, kept for the grace, leave now. */
  function release(record: SessionRecord): void {
    options.presence.release(
      record.sid,
      record.node ?? options.presence.nodeId,
      record.topics.map((t) => t.topic),
      record.identity,
    );
  }

  /**
   * A session its node never saved, because the node was killed: taken from
   * the run's live sessions once the node counts as dead (silent past
   * NODE_TTL_MS), and placed by the run's journal. Meanwhile the node may
   * save it after all (a drain racing the reconnect, a loss it finds late):
   * that saved one is taken instead. Undefined when there is none, or the
   * node heartbeats on (alive: it saves the session itself when it notices
   * the loss); refused (memberships released) when the position cannot be
   * known.
   */
  async function fromKilledRun(pid: string, token: { runId: string; q: number } | undefined): Promise<SessionRecord | undefined> {
    const killed = options.killed;
    if (killed === undefined || token === undefined || token.runId === log.runId) return undefined;
    const live: LiveSession | undefined = await killed.take(token.runId, pid);
    // Gone: ended, or saved just now (it goes only once the save is answered), so read the saved one again.
    if (live === undefined) return sessions.take(pid);
    const began = Date.now();
    let heartbeatSeen = false;
    for (;;) {
      const saved = await sessions.take(pid);
      if (saved !== undefined) return saved;
      const silence = await options.presence.nodeSilence(live.node);
      // Silent past the TTL, or its node id now held by another process (restarted in place): the run is dead.
      if (silence.ms > options.nodeTtlMs || (silence.incarnation !== undefined && silence.incarnation !== token.runId)) break;
      // Heartbeat since the wait began: alive.
      if (silence.ms + 250 < Date.now() - began) heartbeatSeen = true;
      if ((heartbeatSeen && Date.now() - began > 2000) || Date.now() - began > options.killedNodeWaitMs) {
        await killed.putBack(token.runId, pid, live);
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const record = killedRunRecord(live, token.runId, await killed.log(token.runId), token.q);
    if (record === undefined) {
      count('refused_position');
      options.presence.release(
        live.sid,
        live.node,
        live.topics.map((t) => t.topic),
        live.identity,
      );
    }
    return record;
  }

  /** Socket.IO's restoreSession: the client came back with a session id and its last offset token. */
  async function restore(pid: string, offset: string): Promise<Session | null> {
    if (!isSessionId(pid)) return null;
    const token = parseOffsetToken(offset);
    let record: SessionRecord | undefined;
    try {
      record = (await sessions.take(pid)) ?? (await fromKilledRun(pid, token));
    } catch (err) {
      count('failed');
      logger.warn({ err, event: 'session-read-failed' }, 'a session could not be read (Redis failed): the connection starts empty');
      return null;
    }
    if (record === undefined || Date.now() - record.lostAtMs > options.windowMs) {
      count('unknown');
      return null;
    }
    const plan = planReplay(record, token !== undefined && token.runId === record.runId ? token.q : Number.NEGATIVE_INFINITY);
    if (!plan.ok) {
      count('refused_position');
      release(record);
      return null;
    }
    const pending: PendingRecovery = { pid, record, replays: [], watchedHere: [], timer: undefined };
    try {
      for (const start of plan.starts) {
        if (feed.watches(start.topic)) continue;
        feed.watch(start.topic);
        pending.watchedHere.push(start.topic);
      }
      // Subscribed first, then held, then read: whatever the read misses is held, whatever both have is given once.
      await Promise.all(plan.starts.map((start) => feed.ready(start.topic)));
      const holds = plan.starts.map((start) => feed.hold(start.topic));
      const results = await Promise.all(
        plan.starts.map((start) => history.since(start.topic, start.from, options.maxMessagesPerTopic, { inclusive: start.inclusive })),
      );
      plan.starts.forEach((start, i) => {
        const result = results[i]!;
        pending.replays.push({ ...start, items: result.ok ? result.items : [], holds: holds[i]! });
      });
      if (results.some((result) => !result.ok)) {
        abandon(pending);
        count('refused_history');
        release(record);
        return null;
      }
      // What the read returned may still be on its way here live: after the handover it would
      // reach the connection a second time. A topic this node just subscribed drops those
      // copies; one it was already receiving is waited for (it follows in order).
      const caughtUp = await Promise.all(
        plan.starts.map((start, i) => {
          const top = (results[i] as { position: Position }).position;
          if (pending.watchedHere.includes(start.topic)) {
            feed.advance(start.topic, top);
            return Promise.resolve(true);
          }
          return feed.reached(start.topic, top, CATCH_UP_TIMEOUT_MS);
        }),
      );
      if (caughtUp.includes(false)) {
        abandon(pending);
        count('refused_history');
        release(record);
        return null;
      }
    } catch (err) {
      abandon(pending);
      count('failed');
      release(record);
      logger.warn(
        { err, event: 'session-history-failed' },
        'a session’s history could not be read (Redis failed): the connection starts empty',
      );
      return null;
    }
    pending.timer = setTimeout(() => {
      count('abandoned');
      abandon(pending);
      release(pending.record);
    }, options.pendingTimeoutMs);
    pending.timer.unref();
    return { sid: record.sid, pid, rooms: [], missedPackets: [], data: { recovery: pending } };
  }

  /** After authentication: a session is taken over by its own user only, with grants that still cover every topic. */
  function middleware(socket: RealtimeSocket, next: (err?: Error) => void): void {
    const pending = socket.data.recovery;
    if (pending === undefined) return next();
    const principal = socket.data.principal;
    const sameUser = (principal.userId ?? null) === pending.record.userId;
    const stillAllowed = pending.replays.every((replay) => {
      const topic = parseTopic(replay.topic);
      return topic !== undefined && allows(principal.grants, topic.channel, 'join');
    });
    if (sameUser && stillAllowed) return next();
    clearTimeout(pending.timer);
    abandon(pending);
    socket.data.recovery = undefined;
    count('refused_user');
    // Put back for its owner: someone else's token with a stolen session id must not end the session.
    const leftMs = options.windowMs - (Date.now() - pending.record.lostAtMs);
    if (!sameUser && leftMs > 0) {
      sessions.save(pending.pid, pending.record, leftMs).catch((err: unknown) => {
        count('save_failed');
        logger.warn({ err, event: 'session-save-failed' }, 'a session refused to another user could not be put back');
      });
    }
    // Its own user with grants that no longer cover it: the session ends here.
    if (sameUser) release(pending.record);
    refuseHandshake(
      socket,
      next,
      ErrorCode.FORBIDDEN,
      sameUser
        ? 'this session’s channels and rooms are no longer all allowed: reconnect without its session id'
        : 'this session belongs to another user: reconnect without its session id',
    );
  }

  const send = (socket: RealtimeSocket, event: string, envelope: RelayedEnvelope, position: Position | undefined): Delivery => {
    const q = log.next();
    emitToConnection(socket, event, envelope, log.token(q));
    return { q, position };
  };

  /**
   * On `connection`, before any event of the client is handled: puts a
   * recovered socket back in its channels and rooms with what it missed.
   * Returns whether it did.
   */
  function resume(socket: RealtimeSocket): boolean {
    const pending = socket.data.recovery;
    if (pending === undefined) return false;
    socket.data.recovery = undefined;
    clearTimeout(pending.timer);
    const { record } = pending;
    socket.data.identity = record.identity;
    options.beforeJoin?.(socket.id, new Set(pending.replays.map((replay) => replay.topic)));
    let overflowed = false;
    for (const replay of pending.replays) {
      const topicRecord = record.topics.find((t) => t.topic === replay.topic);
      void socket.join(replay.topic);
      socket.data.joinedAt.set(replay.topic, topicRecord?.joinedAt ?? new Date().toISOString());
      const sent: Delivery[] = [];
      let last = replay.inclusive ? undefined : replay.from;
      for (const item of replay.items) {
        const [event, envelope] = JSON.parse(item.payload) as StoredEvent;
        const position = { offset: item.offset, epoch: replay.from.epoch, tag: item.tag };
        sent.push(send(socket, event, envelope, position));
        last = position;
      }
      for (const held of replay.holds.events) {
        // Read and held both: given once, by offset.
        if (
          held.position !== undefined &&
          last !== undefined &&
          held.position.epoch === last.epoch &&
          held.position.offset <= last.offset
        ) {
          continue;
        }
        sent.push(send(socket, held.event, held.envelope, held.position));
        if (held.position !== undefined) last = held.position;
      }
      overflowed ||= replay.holds.overflowed;
      replay.holds.release();
      socket.data.tracks.set(replay.topic, {
        fromQ: log.current,
        base: replay.inclusive ? undefined : { q: 0, position: replay.from },
        sent,
      });
    }
    count('recovered');
    // Its memberships are taken over from the node it was lost on: within the grace nobody sees
    // anything; past it, it was announced as leaving and now joins again.
    const fromNodeId = record.node ?? options.presence.nodeId;
    const now = new Date().toISOString();
    for (const replay of pending.replays) {
      const topic = parseTopic(replay.topic);
      if (topic === undefined) continue;
      const envelope = stampEnvelope(
        {
          data: { message: '', roomChannel: topic.channel, roomId: topic.roomId },
          ...(record.identity.source === undefined ? {} : { source: record.identity.source }),
        },
        socket.id,
        now,
        socket.data.principal,
      );
      void options.presence.resume(socket.id, replay.topic, envelope, fromNodeId);
    }
    changed(socket);
    if (overflowed) {
      // More arrived while the history was read than a hold keeps: start over (the client reconnects with its newest token).
      socket.conn.close();
    }
    return true;
  }

  /** A join: where the connection starts in the topic. */
  function joined(socket: RealtimeSocket, topic: string): void {
    socket.data.tracks.set(topic, { fromQ: log.current, base: log.last(topic), sent: [] });
    changed(socket);
  }

  /** The connection's channels and rooms changed: its live session record follows (written with the turn's journal write). */
  function changed(socket: RealtimeSocket): void {
    const journal = options.journal;
    const pid = journal === undefined ? undefined : sessionIdOf(socket);
    if (journal === undefined || pid === undefined) return;
    // A recovery's replay can be long (up to the cap per topic): past a bound it is left out, and
    // the record keeps where each replay ended, placing only offsets at or after it.
    const keepSent = [...socket.data.tracks.values()].reduce((n, track) => n + track.sent.length, 0) <= MAX_LIVE_SENT;
    const topics = [...socket.data.tracks].map(([topic, track]) => {
      const replayEnd = track.sent.at(-1);
      const omit = !keepSent && replayEnd !== undefined;
      const base = omit ? replayEnd : track.base;
      return {
        topic,
        joinedAt: socket.data.joinedAt.get(topic) ?? new Date().toISOString(),
        fromQ: track.fromQ,
        ...(base === undefined ? {} : { base: recorded(base) }),
        sent: omit ? [] : track.sent.map(recorded),
        ...(omit ? { sentOmittedBeforeQ: replayEnd.q } : {}),
      };
    });
    journal.session(
      pid,
      topics.length === 0
        ? undefined
        : {
            v: 1,
            sid: socket.id,
            userId: socket.data.principal.userId ?? null,
            identity: socket.data.identity,
            node: options.presence.nodeId,
            topics,
          },
    );
  }

  /** The connection ended (any way): its live session goes (a lost one's was saved in its place). */
  function ended(socket: RealtimeSocket): void {
    const pid = sessionIdOf(socket);
    if (pid !== undefined && socket.data.kept !== true) options.journal?.session(pid, undefined);
  }

  return { persist, restore, middleware, resume, joined, changed, ended };
}

export type SessionRecovery = ReturnType<typeof sessionRecovery>;
