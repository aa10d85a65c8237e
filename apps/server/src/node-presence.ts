import type { Logger } from 'pino';
import type { KeptMembership, Membership, NodeSilence, PresenceChange, PresenceStore, TopicCount, TopicUsers } from '@realtime/presence';
import { CountAnnouncer } from './count-announcer.js';
import { joinEventOf, leaveEventOf, onlineUsersEventOf, type RelayedEnvelope } from '@realtime/protocol';
import { decodeIdentity, encodeIdentity, leaveEnvelope, onlineUsersEnvelope, type SenderIdentity } from './envelopes.js';
import { PresenceEventQueue } from './presence-event-queue.js';
import type { TopicBroadcaster } from './recovery/topic-broadcaster.js';
import { emitToConnection } from './recovery/emit-to-connection.js';
import type { Metrics } from './metrics.js';
import type { RealtimeServer } from './socket-types.js';
import { isTopic, parseTopic } from './topics.js';

export interface NodePresenceOptions {
  io: RealtimeServer;
  store: PresenceStore;
  logger: Logger;
  metrics: Metrics;
  /** How join-* / leave-* events reach a topic's members on every node. */
  broadcaster: TopicBroadcaster;
  heartbeatIntervalMs: number;
  presenceAnnounceIntervalMs: number;
  /** Above this many members a topic's join-* / leave-* events are not sent, only its counts. 0 = no limit. */
  presenceEventsMaxMembers: number;
  /** The identity to write into a local connection's memberships. */
  identityOf(socketId: string): SenderIdentity;
  /** A local connection's user (its token's `sub`), undefined when anonymous: what the store's user counts count. */
  userIdOf(socketId: string): string | undefined;
  /** When a local connection joined a topic (server time), if it is in it. */
  joinedAtOf(socketId: string, topic: string): string | undefined;
  /** PRESENCE_GRACE_MS: how long a connection lost abruptly stays a member before it is announced as leaving. 0 = at once. */
  graceMs: number;
}

/** A connection lost abruptly, still a member of its topics until its grace ends. */
interface AwayConnection {
  topics: readonly string[];
  identity: SenderIdentity | undefined;
  timer: NodeJS.Timeout;
}

/**
 * This node's side of cluster presence. The local Socket.IO rooms are the
 * source of truth for this node's memberships; the store is a replica of
 * them that every node can count. Store failures never reach a client: the
 * call is logged and counted, the node is marked out of sync, and the next
 * heartbeat that reaches the store rewrites the node's memberships.
 */
export class NodePresence {
  private readonly announcer: CountAnnouncer;
  private readonly events: PresenceEventQueue;
  private readonly unsubscribe: () => void;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private outOfSync = true;
  private storeReachable = true;
  /** Set by the first heartbeat that reached the store: a first registration is not a resync worth a line. */
  private registered = false;
  /** performance.now() of the last heartbeat the store answered; undefined before the first. */
  private lastHeartbeatAnsweredAt: number | undefined;
  /** Cleanups of disconnected sockets still writing to the store; a drain waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  /**
   * Connections lost abruptly, within their grace: still members in the
   * store (not in any Socket.IO room, so not in a resync's snapshot).
   * Bounded by the connections lost in one grace; each entry ends with its
   * timer, its recovery here, or its release.
   */
  private readonly away = new Map<string, AwayConnection>();

  constructor(private readonly options: NodePresenceOptions) {
    const { io, metrics } = options;
    const localRooms = io.of('/').adapter.rooms;
    this.announcer = new CountAnnouncer({
      intervalMs: options.presenceAnnounceIntervalMs,
      hasLocalMembers: (topic) => (localRooms.get(topic)?.size ?? 0) > 0,
      emit: (count) => {
        const topic = parseTopic(count.topic);
        if (topic === undefined) return;
        metrics.presenceAnnouncements.inc();
        io.local.to(count.topic).emit(onlineUsersEventOf(topic), onlineUsersEnvelope(topic, count.count, new Date().toISOString()));
      },
    });
    this.events = new PresenceEventQueue({
      broadcast: (topic, event, envelope) => void options.broadcaster.broadcast(topic, event, envelope),
    });
    this.unsubscribe = options.store.onCounts((counts) => this.offerAll(counts));
  }

  /** Registers the node (writes its current memberships) and starts heartbeating. */
  async start(): Promise<void> {
    await this.tick();
  }

  /**
   * Adds a local connection (already in the Socket.IO room) to a topic in
   * the store; resolves the cluster-wide count, or undefined if the store
   * failed. The `join-*` event is queued, so the caller's ack goes first.
   */
  async join(socketId: string, topic: string, envelope: RelayedEnvelope): Promise<number | undefined> {
    const count = await this.track('add', async () => {
      const meta = encodeIdentity(this.options.identityOf(socketId), this.options.joinedAtOf(socketId, topic) ?? envelope.serverTime);
      const change = await this.options.store.add(topic, socketId, meta, this.options.userIdOf(socketId));
      this.announcer.offer(change);
      return change.count;
    });
    this.queueMembershipEvent(topic, 'join', envelope, count);
    return count;
  }

  /** Removes a local connection (already out of the Socket.IO room) from a topic. */
  async leave(socketId: string, topic: string, envelope: RelayedEnvelope): Promise<number | undefined> {
    const count = await this.track('remove', async () => {
      const change = await this.options.store.remove(topic, socketId);
      this.announcer.offer(change);
      return change.count;
    });
    this.queueMembershipEvent(topic, 'leave', envelope, count === undefined ? undefined : count + 1);
    return count;
  }

  /** A disconnect: leaves every topic at once, telling their members. A drain waits for these. */
  leaveAll(socketId: string, topics: readonly string[], identity: SenderIdentity | undefined): void {
    this.remove(socketId, topics, identity, 'always', () => this.options.store.removeMany(socketId, topics));
  }

  /**
   * A connection lost abruptly whose session is kept: it stays a member of
   * every topic, counted and with no `leave-*`, for the grace. Recovered
   * meanwhile (here: `resume`; on another node: its `move` takes the
   * entries over), nobody sees anything; otherwise its topics are left when
   * the grace ends, announced once, and only where it was still a member.
   */
  leaveLater(socketId: string, topics: readonly string[], identity: SenderIdentity | undefined): void {
    if (this.options.graceMs === 0 || topics.length === 0) return this.leaveAll(socketId, topics, identity);
    this.endAway(socketId, 'left');
    const timer = setTimeout(() => this.endAway(socketId, 'left'), this.options.graceMs);
    timer.unref();
    this.away.set(socketId, { topics, identity, timer });
  }

  /**
   * A connection kept within its grace will not come back (its session
   * could not be saved, or was refused where it came back): its topics are
   * left now, announced only where it was still a member. `fromNodeId` is
   * the node it was lost on; this one's own connections end their grace.
   */
  release(socketId: string, fromNodeId: string, topics: readonly string[], identity: SenderIdentity | undefined): void {
    if (fromNodeId === this.options.store.nodeId) {
      this.endAway(socketId, 'released');
      return;
    }
    if (this.options.graceMs === 0 || topics.length === 0) return;
    this.options.metrics.presenceGraceEnds.inc({ outcome: 'released' });
    this.remove(socketId, topics, identity, 'if-removed', () => this.options.store.release(socketId, fromNodeId, topics));
  }

  /**
   * A connection recovered on this node back in one of its topics: its
   * membership is taken over from the node it was lost on (this one
   * included), with no count change and no `join-*` while its grace lasts.
   * Past the grace it was announced as leaving, and it joins again, announced.
   */
  async resume(socketId: string, topic: string, envelope: RelayedEnvelope, fromNodeId: string): Promise<number | undefined> {
    const away = this.away.get(socketId);
    if (away !== undefined && fromNodeId === this.options.store.nodeId) {
      clearTimeout(away.timer);
      this.away.delete(socketId);
      this.options.metrics.presenceGraceEnds.inc({ outcome: 'recovered' });
    }
    const change = await this.track('move', async () => {
      const meta = encodeIdentity(this.options.identityOf(socketId), this.options.joinedAtOf(socketId, topic) ?? envelope.serverTime);
      const moved = await this.options.store.move(topic, socketId, fromNodeId, meta, this.options.userIdOf(socketId));
      this.announcer.offer(moved);
      return moved;
    });
    if (change?.changed !== false) {
      this.queueMembershipEvent(topic, 'join', envelope, change?.count);
    } else {
      // Nothing is announced for a membership taken over, and counts are not in the replay:
      // the connection is told the current count itself (what it missed may have moved it).
      const socket = this.options.io.of('/').sockets.get(socketId);
      const parsed = parseTopic(topic);
      if (socket !== undefined && parsed !== undefined) {
        const { count } = this.announcer.newest(change);
        emitToConnection(socket, onlineUsersEventOf(parsed), onlineUsersEnvelope(parsed, count, new Date().toISOString()));
      }
    }
    return change?.count;
  }

  /** Ends a lost connection's grace: leaves what it is still a member of, announced (a no-op when it is not away). */
  private endAway(socketId: string, outcome: 'left' | 'released'): void {
    const away = this.away.get(socketId);
    if (away === undefined) return;
    clearTimeout(away.timer);
    this.away.delete(socketId);
    const { metrics, store } = this.options;
    this.remove(socketId, away.topics, away.identity, 'if-removed', async () => {
      const changes = await store.removeMany(socketId, away.topics);
      // Nothing left to remove: the node it came back to took every membership over.
      metrics.presenceGraceEnds.inc({ outcome: changes.some((c) => c.changed) ? outcome : 'recovered' });
      return changes;
    });
  }

  /**
   * Removes a gone connection's memberships and tells the remaining
   * members: `always` (a disconnect: announced even when the store failed,
   * so local members hear of it), or `if-removed` (only where this call
   * removed it: an entry taken over by a recovery elsewhere is not a leave).
   */
  private remove(
    socketId: string,
    topics: readonly string[],
    identity: SenderIdentity | undefined,
    announce: 'always' | 'if-removed',
    call: () => Promise<PresenceChange[]>,
  ): void {
    if (topics.length === 0) return;
    const done = (async () => {
      const changes = await this.track('removeMany', call);
      this.offerAll(changes ?? []);
      const serverTime = new Date().toISOString();
      topics.forEach((name, i) => {
        const topic = parseTopic(name);
        const change = changes?.[i];
        if (topic === undefined || (announce === 'if-removed' && change?.changed === false)) return;
        const countBefore = changes === undefined ? undefined : (change?.count ?? 0) + 1;
        this.queueMembershipEvent(name, 'leave', leaveEnvelope(topic, socketId, identity, serverTime), countBefore);
      });
    })();
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  async count(topic: string): Promise<number | undefined> {
    return this.track('count', async () => (await this.options.store.count(topic)).count);
  }

  /** A topic's cluster-wide connections and distinct users; undefined when the store failed (logged and counted). */
  async users(topic: string): Promise<TopicUsers | undefined> {
    return this.track('users', () => this.options.store.users(topic));
  }

  /**
   * Re-reads the counts of every topic with local members and announces any
   * that moved. Call after the store's subscription was (re)established:
   * changes published while it was down were missed.
   */
  async reconcile(): Promise<void> {
    const topics = [...this.options.io.of('/').adapter.rooms.keys()].filter(isTopic);
    await this.track('count', async () => {
      this.offerAll(await Promise.all(topics.map((topic) => this.options.store.count(topic))));
      return undefined;
    });
  }

  /**
   * Waits for disconnect cleanups, then removes this node from the store,
   * except the memberships of connections within their grace (a drain's
   * connections, recovered on other nodes meanwhile): survivors reap those
   * not taken over once the grace has passed, announcing them as leaving.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.heartbeatTimer);
    await Promise.allSettled([...this.pending]);
    const keep: KeptMembership[] = [];
    for (const [connectionId, away] of this.away) {
      clearTimeout(away.timer);
      for (const topic of away.topics) keep.push({ topic, connectionId });
    }
    this.away.clear();
    this.events.flush();
    await this.track('deregister', async () => {
      await this.options.store.deregister(keep);
      return undefined;
    });
    this.unsubscribe();
    this.announcer.close();
  }

  /**
   * False when the store has not answered a heartbeat for more than two
   * intervals plus a second: a hung Redis (connections open, no replies) is
   * seen within about that long, without a ping of its own.
   */
  storeResponsive(now = performance.now()): boolean {
    const answeredAt = this.lastHeartbeatAnsweredAt;
    return answeredAt !== undefined && now - answeredAt <= 2 * this.options.heartbeatIntervalMs + 1000;
  }

  /** Topics holding announcement state: bounded by the topics with local members. */
  get announcedTopics(): number {
    return this.announcer.size;
  }

  /**
   * Queues a `join-*` / `leave-*` event unless the topic is above the
   * configured size (`membersWithSubject`: the count including the joiner or
   * leaver; undefined when the store failed, then the event is sent).
   */
  private queueMembershipEvent(
    name: string,
    kind: 'join' | 'leave',
    envelope: RelayedEnvelope,
    membersWithSubject: number | undefined,
  ): void {
    const max = this.options.presenceEventsMaxMembers;
    if (max > 0 && membersWithSubject !== undefined && membersWithSubject > max) return;
    const topic = parseTopic(name);
    if (topic === undefined) return;
    this.events.enqueue(name, kind === 'join' ? joinEventOf(topic) : leaveEventOf(topic), envelope);
  }

  private offerAll(counts: readonly TopicCount[]): void {
    for (const count of counts) this.announcer.offer(count);
  }

  private async track<T>(operation: string, call: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      this.outOfSync = true;
      this.options.metrics.presenceErrors.inc({ operation });
      this.options.logger.warn(
        { err, operation },
        'presence store call failed; local delivery continues, memberships are rewritten when the store is back',
      );
      return undefined;
    }
  }

  /**
   * One heartbeat: refresh liveness (rewrite everything when the store lost
   * this node or a write failed), then reap dead nodes. Never overlaps itself.
   */
  private async tick(): Promise<void> {
    const { store, logger, metrics } = this.options;
    try {
      const state = await store.heartbeat();
      this.lastHeartbeatAnsweredAt = performance.now();
      if (state === 'lost' || this.outOfSync) {
        // Cleared before the snapshot: a failure racing the restore marks it again.
        this.outOfSync = false;
        const memberships = this.snapshot();
        const swept = await store.restore(memberships);
        if (!this.registered) {
          logger.debug({ memberships: memberships.length }, 'registered in the presence store');
          // A first restore sweeps only a predecessor's entries (a process restarted under the
          // same node id before its liveness expired), and only without a grace: those members
          // left. With a grace they stay counted, and reapDeadNodes removes what is left after it.
          if (swept.length > 0) {
            logger.info({ memberships: swept.length }, 'removed the memberships of a previous process with this node id');
            this.announceLeft(
              swept.map((m) => ({ ...m, nodeId: store.nodeId })),
              [],
            );
          }
        } else {
          this.endSwept(swept);
          metrics.presenceResyncs.inc();
          logger.info(
            { reason: state === 'lost' ? 'node unknown to the store' : 'earlier write failed', memberships: memberships.length },
            'memberships rewritten into the presence store',
          );
        }
      }
      this.registered = true;
      const reaped = await store.reapDeadNodes();
      this.announceReaped(reaped.removed, reaped.counts);
      this.offerAll(reaped.counts);
      if (!this.storeReachable) logger.info('presence store reachable again');
      this.storeReachable = true;
    } catch (err) {
      this.outOfSync = true;
      metrics.presenceErrors.inc({ operation: 'heartbeat' });
      if (this.storeReachable) logger.warn({ err }, 'presence heartbeat failed; retrying every heartbeat');
      this.storeReachable = false;
    }
    if (!this.stopped) {
      this.heartbeatTimer = setTimeout(() => void this.tick(), this.options.heartbeatIntervalMs);
    }
  }

  /**
   * A resync's snapshot holds only live sockets: the store dropped the
   * memberships of connections within their grace. Their members are told
   * now, once (the grace is cut short: the store had failed meanwhile).
   */
  private endSwept(swept: readonly Membership[]): void {
    const gone = new Map<string, Membership[]>();
    for (const m of swept) {
      if (!this.away.has(m.connectionId)) continue;
      gone.set(m.connectionId, [...(gone.get(m.connectionId) ?? []), m]);
    }
    for (const [connectionId, memberships] of gone) {
      const away = this.away.get(connectionId)!;
      clearTimeout(away.timer);
      this.away.delete(connectionId);
      this.options.metrics.presenceGraceEnds.inc({ outcome: 'left' });
      const serverTime = new Date().toISOString();
      for (const m of memberships) {
        const topic = parseTopic(m.topic);
        if (topic !== undefined)
          this.queueMembershipEvent(m.topic, 'leave', leaveEnvelope(topic, connectionId, away.identity, serverTime), undefined);
      }
    }
  }

  /** How long another node has not heartbeat, and which process holds its id; silent 0 ms (alive) when the store failed. */
  async nodeSilence(nodeId: string): Promise<NodeSilence> {
    return (await this.track('nodeSilence', () => this.options.store.nodeSilence(nodeId))) ?? { ms: 0, incarnation: undefined };
  }

  /** The node id this node's memberships are stored under. */
  get nodeId(): string {
    return this.options.store.nodeId;
  }

  /** Connections within their grace on this node. */
  get awayConnections(): number {
    return this.away.size;
  }

  private announceReaped(removed: readonly (Membership & { nodeId: string })[], counts: readonly TopicCount[]): void {
    if (removed.length === 0) return;
    const { logger, metrics } = this.options;
    const nodes = new Set(removed.map((m) => m.nodeId));
    logger.info({ deadNodes: [...nodes], memberships: removed.length }, 'reaped memberships of dead nodes');
    metrics.reapedMemberships.inc(removed.length);
    this.announceLeft(removed, counts);
  }

  /** `leave-*` for memberships removed from the store on behalf of connections that are gone. */
  private announceLeft(removed: readonly (Membership & { nodeId: string })[], counts: readonly TopicCount[]): void {
    const serverTime = new Date().toISOString();
    const countAfter = new Map(counts.map((c) => [c.topic, c.count]));
    const removedPerTopic = new Map<string, number>();
    for (const m of removed) removedPerTopic.set(m.topic, (removedPerTopic.get(m.topic) ?? 0) + 1);
    for (const membership of removed) {
      const topic = parseTopic(membership.topic);
      if (topic === undefined) continue;
      const envelope = leaveEnvelope(topic, membership.connectionId, decodeIdentity(membership.meta), serverTime);
      // Judged on the topic's size before the reap, as if each had left in turn from the top.
      const before = (countAfter.get(membership.topic) ?? 0) + (removedPerTopic.get(membership.topic) ?? 0);
      this.queueMembershipEvent(membership.topic, 'leave', envelope, before);
    }
  }

  private snapshot(): Membership[] {
    const memberships: Membership[] = [];
    for (const socket of this.options.io.of('/').sockets.values()) {
      const identity = this.options.identityOf(socket.id);
      for (const room of socket.rooms) {
        if (isTopic(room)) {
          memberships.push({
            topic: room,
            connectionId: socket.id,
            meta: encodeIdentity(identity, this.options.joinedAtOf(socket.id, room)),
            userId: this.options.userIdOf(socket.id),
          });
        }
      }
    }
    return memberships;
  }
}
