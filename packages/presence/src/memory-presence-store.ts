import { randomBytes } from 'node:crypto';
import { InvalidCursorError, decodeCursor, encodeCursor } from './listing-cursor.js';
import type {
  CountListener,
  KeptMembership,
  LivenessState,
  NodeSilence,
  MemberEntry,
  Membership,
  Page,
  PresenceChange,
  PresenceStore,
  ReapResult,
  ReapedMembership,
  TopicCount,
  TopicUsers,
} from './presence-store.js';

const SEP = '\u001f';

/** The user key of an anonymous connection: a user id is never empty, so it cannot collide. */
const ANONYMOUS = '';

/** One member of a topic. */
interface MemberValue {
  meta: string;
  /** The connection's user id, or ANONYMOUS. */
  user: string;
}

/**
 * The state several in-process stores share, as several nodes share one
 * Redis. A single-node server makes one for itself; tests make one to run
 * the contract suite with several "nodes" in one process.
 */
export class MemoryPresenceBackend {
  /** topic → (nodeId SEP connectionId → member); written only through `putMember` / `deleteMember`. */
  readonly topics = new Map<string, Map<string, MemberValue>>();
  /**
   * topic → (user id → that user's connections in the topic), ANONYMOUS
   * counting anonymous connections: kept in step with `topics` by the two
   * methods that write it, so every path that adds or removes a member
   * (join, leave, restore, reap, deregister) keeps it right.
   */
  readonly users = new Map<string, Map<string, number>>();
  /** nodeId → (connectionId SEP topic) */
  readonly nodeIndex = new Map<string, Set<string>>();
  /** nodeId → liveness deadline (ms since epoch) */
  readonly liveUntil = new Map<string, number>();
  /** nodeId → the incarnation registered under it (as long as the node is) */
  readonly incarnations = new Map<string, string>();
  /** When any node last heartbeat, and when the current unbroken run of heartbeats began (see heartbeat.lua). */
  lastBeatAt: number | undefined;
  servedSince: number | undefined;
  readonly versions = new Map<string, number>();
  readonly listeners = new Set<CountListener>();
  /** Seeded from the clock, as in Redis, so versions keep growing after `clear()`. */
  private seq = 0;

  constructor(readonly now: () => number = Date.now) {}

  nextVersion(): number {
    this.seq = this.seq === 0 ? this.now() * 1000 : this.seq + 1;
    return this.seq;
  }

  currentVersion(topic: string): number {
    return this.versions.get(topic) ?? this.seq;
  }

  /** Writes a member (a new one or a rewrite); true when it was not there before. */
  putMember(topic: string, field: string, meta: string, userId: string | undefined): boolean {
    let members = this.topics.get(topic);
    if (members === undefined) {
      members = new Map();
      this.topics.set(topic, members);
    }
    const user = userId ?? ANONYMOUS;
    const old = members.get(field);
    members.set(field, { meta, user });
    if (old?.user !== user) {
      if (old !== undefined) this.countUser(topic, old.user, -1);
      this.countUser(topic, user, 1);
    }
    return old === undefined;
  }

  /** Removes a member; its meta if it was there. */
  deleteMember(topic: string, field: string): string | undefined {
    const members = this.topics.get(topic);
    const old = members?.get(field);
    if (members === undefined || old === undefined) return undefined;
    members.delete(field);
    this.countUser(topic, old.user, -1);
    return old.meta;
  }

  /** Distinct users of a topic: each named user once, each anonymous connection once. */
  distinctUsers(topic: string): number {
    const users = this.users.get(topic);
    if (users === undefined) return 0;
    const anonymous = users.get(ANONYMOUS) ?? 0;
    return users.size + (anonymous > 0 ? anonymous - 1 : 0);
  }

  private countUser(topic: string, user: string, delta: 1 | -1): void {
    let users = this.users.get(topic);
    if (users === undefined) {
      users = new Map();
      this.users.set(topic, users);
    }
    const n = (users.get(user) ?? 0) + delta;
    if (n > 0) users.set(user, n);
    else users.delete(user);
    if (users.size === 0) this.users.delete(topic);
  }

  /** Bumps and publishes the versions of `changed` topics, like the scripts' `announce`. */
  announce(changed: Iterable<string>): TopicCount[] {
    const counts: TopicCount[] = [];
    for (const topic of new Set(changed)) {
      const count = this.topics.get(topic)?.size ?? 0;
      const version = this.nextVersion();
      if (count === 0) {
        this.topics.delete(topic);
        this.versions.delete(topic);
      } else {
        this.versions.set(topic, version);
      }
      counts.push({ topic, count, version });
    }
    if (counts.length > 0) {
      // Asynchronous like a pub/sub delivery, in publish order.
      queueMicrotask(() => {
        for (const listener of this.listeners) listener(counts);
      });
    }
    return counts;
  }

  /** Forgets everything but the version counter: what a Redis restart without persistence does. */
  clear(): void {
    this.topics.clear();
    this.users.clear();
    this.nodeIndex.clear();
    this.liveUntil.clear();
    this.incarnations.clear();
    this.lastBeatAt = undefined;
    this.servedSince = undefined;
    this.versions.clear();
    this.seq = 0;
  }
}

export interface MemoryPresenceStoreOptions {
  nodeId: string;
  /** Shared state; a new private one when omitted (a single node). */
  backend?: MemoryPresenceBackend;
  /** How long the node stays alive without a heartbeat. Default 5 000 ms. */
  nodeTtlMs?: number;
  /** How long a dead node's members stay counted before they are reaped (PRESENCE_GRACE_MS). Default 0. */
  memberGraceMs?: number;
  /** This process's id among the processes that run under `nodeId`. Default: 12 random hex digits. */
  incarnation?: string;
}

/** In-process presence, for a single node without Redis and for tests. */
export class MemoryPresenceStore implements PresenceStore {
  readonly nodeId: string;
  readonly incarnation: string;
  readonly backend: MemoryPresenceBackend;
  private readonly nodeTtlMs: number;
  private readonly memberGraceMs: number;
  private readonly ownListeners = new Set<CountListener>();
  private restores = 0;
  /** A predecessor's index entries under this node id, kept for the grace, and when they are reaped. */
  private predecessor: { entries: Set<string>; reapAt: number } | undefined;

  constructor(options: MemoryPresenceStoreOptions) {
    this.nodeId = options.nodeId;
    this.incarnation = options.incarnation ?? randomBytes(6).toString('hex');
    this.backend = options.backend ?? new MemoryPresenceBackend();
    this.nodeTtlMs = options.nodeTtlMs ?? 5000;
    this.memberGraceMs = options.memberGraceMs ?? 0;
  }

  async add(topic: string, connectionId: string, meta: string, userId?: string): Promise<PresenceChange> {
    const added = this.backend.putMember(topic, this.nodeId + SEP + connectionId, meta, userId);
    this.own(connectionId + SEP + topic);
    if (!added) {
      const count = this.backend.topics.get(topic)?.size ?? 0;
      return { topic, count, version: this.backend.currentVersion(topic), changed: false };
    }
    const [fresh] = this.backend.announce([topic]);
    return { ...(fresh as TopicCount), changed: true };
  }

  async remove(topic: string, connectionId: string): Promise<PresenceChange> {
    const [change] = await this.removeMany(connectionId, [topic]);
    return change as PresenceChange;
  }

  async removeMany(connectionId: string, topics: readonly string[]): Promise<PresenceChange[]> {
    const removed = topics.map((topic) => {
      this.backend.nodeIndex.get(this.nodeId)?.delete(connectionId + SEP + topic);
      this.predecessor?.entries.delete(connectionId + SEP + topic);
      return this.backend.deleteMember(topic, this.nodeId + SEP + connectionId) !== undefined;
    });
    const fresh = new Map(this.backend.announce(topics.filter((_, i) => removed[i])).map((c) => [c.topic, c]));
    return topics.map((topic, i) => {
      const now = fresh.get(topic) ?? {
        topic,
        count: this.backend.topics.get(topic)?.size ?? 0,
        version: this.backend.currentVersion(topic),
      };
      return { ...now, changed: removed[i] === true };
    });
  }

  async move(topic: string, connectionId: string, fromNodeId: string, meta: string, userId?: string): Promise<PresenceChange> {
    const moved = fromNodeId !== this.nodeId && this.backend.deleteMember(topic, fromNodeId + SEP + connectionId) !== undefined;
    const added = this.backend.putMember(topic, this.nodeId + SEP + connectionId, meta, userId);
    this.own(connectionId + SEP + topic);
    // Moved onto an entry that was there too (never written so): one fewer, announced.
    if ((added && !moved) || (moved && !added)) {
      const [fresh] = this.backend.announce([topic]);
      return { ...(fresh as TopicCount), changed: added && !moved };
    }
    return { ...(await this.count(topic)), changed: false };
  }

  async release(connectionId: string, fromNodeId: string, topics: readonly string[]): Promise<PresenceChange[]> {
    if (fromNodeId === this.nodeId) return this.removeMany(connectionId, topics);
    const removed = topics.map((topic) => this.backend.deleteMember(topic, fromNodeId + SEP + connectionId) !== undefined);
    const fresh = new Map(this.backend.announce(topics.filter((_, i) => removed[i])).map((c) => [c.topic, c]));
    return Promise.all(
      topics.map(async (topic, i) => ({ ...(fresh.get(topic) ?? (await this.count(topic))), changed: removed[i] === true })),
    );
  }

  async count(topic: string): Promise<TopicCount> {
    return { topic, count: this.backend.topics.get(topic)?.size ?? 0, version: this.backend.currentVersion(topic) };
  }

  async users(topic: string): Promise<TopicUsers> {
    return { ...(await this.count(topic)), users: this.backend.distinctUsers(topic) };
  }

  async members(topic: string, limit: number, cursor?: string): Promise<Page<MemberEntry>> {
    const after = this.cursorKey(cursor);
    const fields = [...(this.backend.topics.get(topic)?.keys() ?? [])].sort().filter((f) => after === undefined || f > after);
    const page = fields.slice(0, limit);
    const members = this.backend.topics.get(topic);
    return {
      items: page.map((field) => {
        const [nodeId, connectionId] = splitOnce(field);
        return { nodeId, connectionId, meta: members?.get(field)?.meta ?? '' };
      }),
      nextCursor: fields.length > limit ? encodeCursor({ k: page.at(-1)! }) : null,
    };
  }

  async topics(prefix: string, limit: number, cursor?: string): Promise<Page<{ topic: string; count: number }>> {
    const after = this.cursorKey(cursor);
    const names = [...this.backend.topics.keys()]
      .filter((t) => t.startsWith(prefix) && (after === undefined || t > after) && (this.backend.topics.get(t)?.size ?? 0) > 0)
      .sort();
    const page = names.slice(0, limit);
    return {
      items: page.map((topic) => ({ topic, count: this.backend.topics.get(topic)?.size ?? 0 })),
      nextCursor: names.length > limit ? encodeCursor({ k: page.at(-1)! }) : null,
    };
  }

  /** The key a memory cursor resumes after (pages are in key order). */
  private cursorKey(cursor: string | undefined): string | undefined {
    const position = decodeCursor(cursor);
    if (position === undefined || (position.k !== undefined && typeof position.k !== 'string')) throw new InvalidCursorError();
    return position.k;
  }

  onCounts(listener: CountListener): () => void {
    this.backend.listeners.add(listener);
    this.ownListeners.add(listener);
    return () => {
      this.backend.listeners.delete(listener);
      this.ownListeners.delete(listener);
    };
  }

  async heartbeat(): Promise<LivenessState> {
    // As the Redis store: a cluster-wide gap of half a TTL between heartbeats is a stall, after which nobody is reaped for a TTL.
    const now = this.backend.now();
    if (this.backend.lastBeatAt === undefined || now - this.backend.lastBeatAt > this.nodeTtlMs / 2) this.backend.servedSince = now;
    this.backend.lastBeatAt = now;
    const until = this.backend.liveUntil.get(this.nodeId);
    if (until === undefined || until <= this.backend.now()) return 'lost';
    this.backend.liveUntil.set(this.nodeId, this.backend.now() + this.nodeTtlMs);
    return 'alive';
  }

  async restore(memberships: readonly Membership[]): Promise<Membership[]> {
    this.backend.liveUntil.set(this.nodeId, this.backend.now() + this.nodeTtlMs);
    const previous = this.backend.incarnations.get(this.nodeId);
    this.backend.incarnations.set(this.nodeId, this.incarnation);
    // On a first restore, what the index holds is a predecessor's (a process that ran under this node id): a dead node's, kept for the grace.
    if (
      this.restores++ === 0 &&
      previous !== undefined &&
      previous !== this.incarnation &&
      this.memberGraceMs > 0 &&
      this.index().size > 0
    ) {
      this.predecessor = { entries: new Set(this.index()), reapAt: this.backend.now() + this.memberGraceMs };
    }
    const wanted = new Set(memberships.map((m) => m.connectionId + SEP + m.topic));
    const changed: string[] = [];
    const swept: Membership[] = [];
    for (const entry of this.index()) {
      if (wanted.has(entry) || this.predecessor?.entries.has(entry)) continue;
      const [connectionId, topic] = splitOnce(entry);
      const meta = this.backend.deleteMember(topic, this.nodeId + SEP + connectionId);
      if (meta !== undefined) {
        changed.push(topic);
        swept.push({ connectionId, topic, meta });
      }
      this.index().delete(entry);
    }
    for (const m of memberships) {
      if (this.backend.putMember(m.topic, this.nodeId + SEP + m.connectionId, m.meta, m.userId)) changed.push(m.topic);
      this.own(m.connectionId + SEP + m.topic);
    }
    this.backend.announce(changed);
    return swept;
  }

  async nodeSilence(nodeId: string): Promise<NodeSilence> {
    const until = this.backend.liveUntil.get(nodeId);
    if (until === undefined) return { ms: Number.POSITIVE_INFINITY, incarnation: undefined };
    return { ms: Math.max(0, this.backend.now() - (until - this.nodeTtlMs)), incarnation: this.backend.incarnations.get(nodeId) };
  }

  async reapDeadNodes(): Promise<ReapResult> {
    const now = this.backend.now();
    const since = this.backend.servedSince;
    const dead =
      since === undefined || now - since < this.nodeTtlMs
        ? []
        : [...this.backend.nodeIndex.keys()].filter(
            (nodeId) => nodeId !== this.nodeId && (this.backend.liveUntil.get(nodeId) ?? 0) + this.memberGraceMs <= now,
          );
    const removed = this.removeNodes(dead);
    if (this.predecessor !== undefined && now >= this.predecessor.reapAt) {
      // The grace of a predecessor's connections has passed: what was not taken over meanwhile left.
      for (const entry of this.predecessor.entries) {
        const [connectionId, topic] = splitOnce(entry);
        const meta = this.backend.deleteMember(topic, this.nodeId + SEP + connectionId);
        if (meta !== undefined) removed.push({ nodeId: this.nodeId, connectionId, topic, meta });
        this.index().delete(entry);
      }
      this.predecessor = undefined;
    }
    return { removed, counts: this.backend.announce(removed.map((m) => m.topic)) };
  }

  async deregister(keep: readonly KeptMembership[] = []): Promise<TopicCount[]> {
    this.predecessor = undefined;
    if (keep.length === 0) return this.backend.announce(this.removeNodes([this.nodeId]).map((m) => m.topic));
    const kept = new Set(keep.map((m) => m.connectionId + SEP + m.topic));
    const removed: string[] = [];
    for (const entry of [...this.index()]) {
      if (kept.has(entry)) continue;
      const [connectionId, topic] = splitOnce(entry);
      if (this.backend.deleteMember(topic, this.nodeId + SEP + connectionId) !== undefined) removed.push(topic);
      this.index().delete(entry);
    }
    // Dead from now: survivors reap what is kept once the grace has passed.
    this.backend.liveUntil.set(this.nodeId, this.backend.now());
    return this.backend.announce(removed);
  }

  async close(): Promise<void> {
    for (const listener of this.ownListeners) this.backend.listeners.delete(listener);
    this.ownListeners.clear();
  }

  private index(): Set<string> {
    let index = this.backend.nodeIndex.get(this.nodeId);
    if (index === undefined) {
      index = new Set();
      this.backend.nodeIndex.set(this.nodeId, index);
    }
    return index;
  }

  /** An entry this process wrote: no longer a predecessor's. */
  private own(entry: string): void {
    this.index().add(entry);
    this.predecessor?.entries.delete(entry);
  }

  /** Removes every membership of `nodeIds` and forgets the nodes; announces nothing (the caller does, once). */
  private removeNodes(nodeIds: readonly string[]): ReapedMembership[] {
    const removed: ReapedMembership[] = [];
    for (const nodeId of nodeIds) {
      for (const entry of this.backend.nodeIndex.get(nodeId) ?? []) {
        const [connectionId, topic] = splitOnce(entry);
        const meta = this.backend.deleteMember(topic, nodeId + SEP + connectionId);
        if (meta !== undefined) removed.push({ nodeId, connectionId, topic, meta });
      }
      this.backend.nodeIndex.delete(nodeId);
      this.backend.liveUntil.delete(nodeId);
      this.backend.incarnations.delete(nodeId);
    }
    return removed;
  }
}

function splitOnce(entry: string): [string, string] {
  const at = entry.indexOf(SEP);
  return [entry.slice(0, at), entry.slice(at + 1)];
}
