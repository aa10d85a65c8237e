import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type {
  CountListener,
  LivenessState,
  MemberEntry,
  NodeSilence,
  KeptMembership,
  Membership,
  Page,
  PresenceChange,
  PresenceStore,
  ReapResult,
  ReapedMembership,
  TopicCount,
  TopicUsers,
} from './presence-store.js';
import { withPresenceCommands, type PresenceCommands, type RedisCommandClient } from './redis-scripts.js';
import { parseCountMessage } from './count-message.js';
import { presenceKeys, type PresenceKeys } from './presence-keys.js';
import { ShardedSubscriptions } from './sharded-subscriptions.js';
import { InvalidCursorError, decodeCursor, encodeCursor, globEscape } from './listing-cursor.js';
import { metaOfMemberValue } from './member-value.js';

const SEP = '\u001f';

interface QueuedOperation {
  kind: 'a' | 'r';
  connectionId: string;
  topic: string;
  meta: string;
  /** '' for an anonymous connection (and for removes: the script reads the member's user). */
  user: string;
  /** The node whose member an add moves here, or a remove removes; '' for this node. */
  from: string;
  resolve(change: PresenceChange): void;
  reject(err: unknown): void;
}

export interface RedisPresenceStoreOptions {
  /** Command connection (standalone, Sentinel-managed, or a Cluster client). Give it `enableOfflineQueue: false` so calls fail fast while Redis is down. */
  redis: RedisCommandClient;
  /** A connection this store may put in subscriber mode (shared with other subscribers is fine): it SSUBSCRIBEs count channels. */
  subscriber: RedisCommandClient;
  nodeId: string;
  /** Prefix of every key and channel. Default `rt:`. */
  keyPrefix?: string;
  /** How long a node stays alive without a heartbeat. Default 5 000 ms. */
  nodeTtlMs?: number;
  /** Memberships per restore script call, so one call never blocks Redis for long. Default 1 000. */
  restoreChunkSize?: number;
  /** Index entries read per step when reaping or sweeping (HSCAN COUNT). Default 500. */
  sweepChunkSize?: number;
  /**
   * How long a dead node's members stay counted before survivors reap them
   * (PRESENCE_GRACE_MS), so that its connections recovered elsewhere
   * meanwhile never leave. Default 0: reaped once its TTL has passed.
   */
  memberGraceMs?: number;
  /**
   * This process's id among the processes that run under `nodeId`: unique
   * per process, `[A-Za-z0-9_-]` only. Default: 12 random hex digits.
   */
  incarnation?: string;
}

/** SCAN/HSCAN calls one listing call makes at most: its cost is bounded, a sparse walk goes on in the cursor. */
const MAX_SCAN_CALLS = 10;

/** Code-unit order: the same on every node, whatever its locale. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const serverName = (client: { options: { host?: string; port?: number } }): string =>
  `${client.options.host ?? ''}:${client.options.port ?? 0}`;

/** How many dead nodes one `reapDeadNodes` call takes on. */
const REAP_NODES_PER_CALL = 8;

/**
 * Presence in Redis (see `../lua/README.md` for the key layout). Every
 * script touches the keys of one hash tag (one Redis Cluster slot): a
 * topic's, a node's index, or the small node registry. A topic's change,
 * its version bump and its announcement are one script, so its subscribers
 * see its counts in version order.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly nodeId: string;
  private readonly redis: RedisCommandClient & PresenceCommands;
  private readonly subscriber: RedisCommandClient;
  private readonly keys: PresenceKeys;
  private readonly indexKey: string;
  private readonly nodeTtlMs: number;
  private readonly restoreChunkSize: number;
  private readonly sweepChunkSize: number;
  private readonly memberGraceMs: number;
  private readonly listeners = new Set<CountListener>();
  readonly incarnation: string;
  /**
   * Written with each membership (`<incarnation>.<n>`); a restore moves to a
   * new one to find stale entries. A process restarted under the same node
   * id, while its predecessor is still registered, tells the predecessor's
   * entries apart by their incarnation instead of taking them for its own.
   */
  private restores = 0;
  private generation: string;
  /**
   * While a predecessor's entries are kept for the grace (set by the first
   * restore that found some): when `reapDeadNodes` removes what is left.
   */
  private predecessorReapAt: number | undefined;
  /** topic → this node's connections in it, as this store was told: what the count subscriptions follow. */
  private readonly local = new Map<string, Set<string>>();
  private readonly subscriptions: ShardedSubscriptions;
  /** Adds and removes issued in this event-loop turn, sent together (in order). */
  private queued: QueuedOperation[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private readonly onMessage = (channel: string, message: string): void => {
    if (!channel.startsWith(this.keys.countChannelPrefix)) return;
    const parsed = parseCountMessage(message);
    if (parsed === undefined || !this.subscriptions.has(parsed.count.topic)) return;
    if (this.keys.topic(parsed.count.topic).counts !== channel) return;
    this.emit([parsed.count]);
  };
  private listening = false;

  constructor(options: RedisPresenceStoreOptions) {
    this.nodeId = options.nodeId;
    this.redis = withPresenceCommands(options.redis);
    this.subscriber = options.subscriber;
    this.keys = presenceKeys(options.keyPrefix ?? 'rt:');
    this.indexKey = this.keys.nodeIndex(this.nodeId);
    this.nodeTtlMs = options.nodeTtlMs ?? 5000;
    this.restoreChunkSize = options.restoreChunkSize ?? 1000;
    this.sweepChunkSize = options.sweepChunkSize ?? 500;
    this.memberGraceMs = options.memberGraceMs ?? 0;
    this.incarnation = options.incarnation ?? randomBytes(6).toString('hex');
    this.generation = `${this.incarnation}.0`;
    this.subscriptions = new ShardedSubscriptions(this.subscriber, (topic) => this.keys.topic(topic).counts);
  }

  /** Topics whose count channel this node subscribes: those with local members. */
  get subscribedTopics(): number {
    return this.subscriptions.size;
  }

  /**
   * Listens for count announcements; resolves once Redis confirmed every
   * subscription. Safe to call again (after a reconnect, to know when the
   * subscriptions are back).
   */
  async start(): Promise<void> {
    if (!this.listening) {
      this.subscriber.on('smessage', this.onMessage);
      this.listening = true;
    }
    await this.subscriptions.resubscribe();
  }

  add(topic: string, connectionId: string, meta: string, userId?: string): Promise<PresenceChange> {
    return this.enqueue('a', connectionId, topic, meta, userId ?? '', '');
  }

  remove(topic: string, connectionId: string): Promise<PresenceChange> {
    return this.enqueue('r', connectionId, topic, '', '', '');
  }

  removeMany(connectionId: string, topics: readonly string[]): Promise<PresenceChange[]> {
    return Promise.all(topics.map((topic) => this.enqueue('r', connectionId, topic, '', '', '')));
  }

  move(topic: string, connectionId: string, fromNodeId: string, meta: string, userId?: string): Promise<PresenceChange> {
    return this.enqueue('a', connectionId, topic, meta, userId ?? '', fromNodeId === this.nodeId ? '' : fromNodeId);
  }

  release(connectionId: string, fromNodeId: string, topics: readonly string[]): Promise<PresenceChange[]> {
    if (fromNodeId === this.nodeId) return this.removeMany(connectionId, topics);
    return Promise.all(topics.map((topic) => this.enqueue('r', connectionId, topic, '', '', fromNodeId)));
  }

  private enqueue(kind: 'a' | 'r', connectionId: string, topic: string, meta: string, user: string, from: string): Promise<PresenceChange> {
    // Another node's member leaving is none of this node's counts or index.
    if (from === '' || kind === 'a') this.trackLocal(kind, topic, connectionId);
    return new Promise((resolve, reject) => {
      this.queued.push({ kind, connectionId, topic, meta, user, from, resolve, reject });
      this.flushScheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Follows this node's members per topic; subscribes a topic's counts with its first, unsubscribes after its last. */
  private trackLocal(kind: 'a' | 'r', topic: string, connectionId: string): void {
    let connections = this.local.get(topic);
    if (kind === 'a') {
      if (connections === undefined) {
        connections = new Set();
        this.local.set(topic, connections);
        this.subscriptions.watch(topic);
      }
      connections.add(connectionId);
    } else if (connections !== undefined) {
      connections.delete(connectionId);
      if (connections.size === 0) {
        this.local.delete(topic);
        this.subscriptions.unwatch(topic);
      }
    }
  }

  /**
   * Sends what is queued: one index call (the adds' entries, before any
   * topic sees them, so the reaper can always find them), then one script
   * per topic (in the order the operations were made), then the removes'
   * index entries once their topics dropped them. Other commands call this
   * first, so none overtakes an earlier join or leave.
   */
  private flush(): void {
    clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    const gen = this.generation;
    // The index's net change per entry: the batch's last operation on it wins.
    const net = new Map<string, 'a' | 'r'>();
    const perTopic = new Map<string, QueuedOperation[]>();
    for (const op of batch) {
      if (op.kind === 'a' || op.from === '') net.set(op.connectionId + SEP + op.topic, op.kind);
      let ops = perTopic.get(op.topic);
      if (ops === undefined) {
        ops = [];
        perTopic.set(op.topic, ops);
      }
      ops.push(op);
    }
    const indexAdds: string[] = [];
    const indexRemoves: string[] = [];
    for (const [field, kind] of net) (kind === 'a' ? indexAdds : indexRemoves).push(field);
    const indexed =
      indexAdds.length === 0
        ? Promise.resolve(0)
        : this.redis.presenceIndexApply(this.indexKey, gen, ...indexAdds.flatMap((f) => ['a', f]));
    const topicCalls: Promise<unknown>[] = [];
    for (const [topic, ops] of perTopic) {
      const keys = this.keys.topic(topic);
      const argv: string[] = [keys.counts, topic, this.incarnation, this.nodeId, gen];
      for (const op of ops) argv.push(op.kind, op.connectionId, op.meta, op.user, op.from);
      const call = this.subscriptions.gate(topic, () => this.redis.presenceTopicApply(keys.members, keys.version, keys.users, ...argv));
      topicCalls.push(call);
      // An add resolves once its index entry is written too: a failure of either is the caller's to see (it resyncs).
      Promise.all([call, indexed]).then(
        ([[count, version, ...flags]]) => {
          ops.forEach((op, i) => op.resolve({ topic, changed: flags[i] === 1, count, version: Number(version) }));
        },
        (err: unknown) => {
          for (const op of ops) op.reject(err);
        },
      );
    }
    if (indexRemoves.length > 0) {
      // Left in place if a topic call failed: an index entry without a membership costs nothing, the reverse is never reaped.
      Promise.all(topicCalls).then(
        () => this.redis.presenceIndexApply(this.indexKey, gen, ...indexRemoves.flatMap((f) => ['r', f])).catch(() => undefined),
        () => undefined,
      );
    }
  }

  async count(topic: string): Promise<TopicCount> {
    this.flush();
    const keys = this.keys.topic(topic);
    const [count, version] = await this.subscriptions.gate(topic, () => this.redis.presenceTopicCount(keys.members, keys.version));
    return { topic, count, version: Number(version) };
  }

  async users(topic: string): Promise<TopicUsers> {
    this.flush();
    const keys = this.keys.topic(topic);
    const [count, version, users] = await this.subscriptions.gate(topic, () =>
      this.redis.presenceTopicUsers(keys.members, keys.version, keys.users),
    );
    return { topic, count, users, version: Number(version) };
  }

  async members(topic: string, limit: number, cursor?: string): Promise<Page<MemberEntry>> {
    const position = decodeCursor(cursor);
    if (position === undefined) throw new InvalidCursorError();
    let scan = typeof position.c === 'string' ? position.c : '0';
    let skip = typeof position.s === 'number' ? position.s : 0;
    const key = this.keys.topic(topic).members;
    const items: MemberEntry[] = [];
    // HSCAN's COUNT is a hint (a small hash comes whole): trim to `limit` and keep the rest's place in the cursor.
    for (let calls = 0; calls < MAX_SCAN_CALLS; calls++) {
      const [next, flat] = await this.redis.hscan(key, scan, 'COUNT', Math.max(limit, 10));
      const batch: MemberEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i] as string;
        const value = flat[i + 1] as string;
        const at = field.indexOf(SEP);
        batch.push({ nodeId: field.slice(0, at), connectionId: field.slice(at + 1), meta: metaOfMemberValue(value) });
      }
      // The same cursor answers the same set again, but not always in the same order (a hash being
      // resized): sorted, a page's `skip` into the batch names the same entries on the next call.
      batch.sort((x, y) => compare(x.nodeId + SEP + x.connectionId, y.nodeId + SEP + y.connectionId));
      const rest = batch.slice(skip);
      const room = limit - items.length;
      if (rest.length > room) {
        items.push(...rest.slice(0, room));
        return { items, nextCursor: encodeCursor({ c: scan, s: skip + room }) };
      }
      items.push(...rest);
      skip = 0;
      scan = next;
      if (scan === '0') return { items, nextCursor: null };
      if (items.length === limit) break;
    }
    return { items, nextCursor: encodeCursor({ c: scan, s: 0 }) };
  }

  async topics(prefix: string, limit: number, cursor?: string): Promise<Page<{ topic: string; count: number }>> {
    const position = decodeCursor(cursor);
    if (position === undefined) throw new InvalidCursorError();
    // Every master in a cluster (in a stable order), the one server otherwise.
    const servers =
      this.redis instanceof Cluster
        ? [...this.redis.nodes('master')].sort((a, b) => serverName(a).localeCompare(serverName(b)))
        : [this.redis];
    let server = typeof position.m === 'number' ? position.m : 0;
    let scan = typeof position.c === 'string' ? position.c : '0';
    let skip = typeof position.s === 'number' ? position.s : 0;
    const head = this.keys.topic('').members;
    const [before, after] = [head.slice(0, head.indexOf('{t:') + 3), head.slice(head.indexOf('{t:') + 3)];
    const pattern = `${globEscape(before)}${globEscape(prefix)}*${globEscape(after)}`;
    const items: { topic: string; count: number }[] = [];
    for (let calls = 0; calls < MAX_SCAN_CALLS && server < servers.length; calls++) {
      const client = servers[server]!;
      const [next, keys] = await client.scan(scan, 'MATCH', pattern, 'COUNT', Math.max(100, limit * 10));
      const topics = keys.map((key) => key.slice(before.length, key.length - after.length)).filter((t) => t.startsWith(prefix));
      const counts = await Promise.all(topics.map((topic) => client.hlen(this.keys.topic(topic).members)));
      // Sorted for the same reason as a members page's batch.
      const batch = topics
        .map((topic, i) => ({ topic, count: counts[i]! }))
        .filter((t) => t.count > 0)
        .sort((x, y) => compare(x.topic, y.topic));
      const rest = batch.slice(skip);
      const room = limit - items.length;
      if (rest.length > room) {
        items.push(...rest.slice(0, room));
        return { items, nextCursor: encodeCursor({ m: server, c: scan, s: skip + room }) };
      }
      items.push(...rest);
      skip = 0;
      scan = next;
      if (scan === '0') {
        server += 1;
        if (server >= servers.length) return { items, nextCursor: null };
      }
      if (items.length === limit) break;
    }
    return { items, nextCursor: encodeCursor({ m: server, c: scan, s: 0 }) };
  }

  onCounts(listener: CountListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async heartbeat(): Promise<LivenessState> {
    this.flush();
    // A cluster-wide gap of half a TTL between heartbeats is a stall of Redis (or of every node).
    const known = await this.redis.presenceHeartbeat(
      this.keys.nodes,
      this.keys.clock,
      this.nodeId,
      this.nodeTtlMs,
      Math.floor(this.nodeTtlMs / 2),
    );
    return known === 1 ? 'alive' : 'lost';
  }

  async restore(memberships: readonly Membership[]): Promise<Membership[]> {
    this.flush();
    this.restores += 1;
    const gen = `${this.incarnation}.${this.restores}`;
    this.generation = gen;
    // Registered first, so nobody starts reaping this node while the snapshot is on its way.
    await this.redis.presenceRegister(this.keys.nodes, this.keys.incarnations, this.nodeId, this.incarnation);
    const perTopic = new Map<string, Membership[]>();
    for (const m of memberships) {
      let list = perTopic.get(m.topic);
      if (list === undefined) {
        list = [];
        perTopic.set(m.topic, list);
      }
      list.push(m);
    }
    // The count subscriptions follow the snapshot.
    for (const topic of [...this.local.keys()]) {
      if (!perTopic.has(topic)) {
        this.local.delete(topic);
        this.subscriptions.unwatch(topic);
      }
    }
    for (const [topic, list] of perTopic) {
      if (!this.local.has(topic)) this.subscriptions.watch(topic);
      this.local.set(topic, new Set(list.map((m) => m.connectionId)));
    }
    // Issued synchronously, index chunks before topic chunks, and before any
    // later add/remove of this node: per slot, Redis runs them in that order,
    // so the snapshot can't overwrite a change made after it was taken.
    const calls: Promise<unknown>[] = [];
    for (let start = 0; start < memberships.length; start += this.restoreChunkSize) {
      const fields = memberships.slice(start, start + this.restoreChunkSize).flatMap((m) => ['a', m.connectionId + SEP + m.topic]);
      calls.push(this.redis.presenceIndexApply(this.indexKey, gen, ...fields));
    }
    for (const [topic, list] of perTopic) {
      const keys = this.keys.topic(topic);
      for (let start = 0; start < list.length; start += this.restoreChunkSize) {
        const argv: string[] = [keys.counts, topic, this.incarnation, this.nodeId, gen];
        for (const m of list.slice(start, start + this.restoreChunkSize)) argv.push('a', m.connectionId, m.meta, m.userId ?? '', '');
        calls.push(this.subscriptions.gate(topic, () => this.redis.presenceTopicApply(keys.members, keys.version, keys.users, ...argv)));
      }
    }
    await Promise.all(calls);
    // What the index holds from an older generation of this process is gone from this node: sweep it.
    // A predecessor's entries are a dead node's: kept for the grace (reapDeadNodes removes them).
    const own = `${this.incarnation}.`;
    const firstRestore = this.restores === 1;
    const { removed } = await this.sweep(this.nodeId, (entryGen) => {
      if (entryGen === gen) return true;
      if (this.memberGraceMs === 0 || entryGen.startsWith(own)) return false;
      if (firstRestore) this.predecessorReapAt ??= performance.now() + this.memberGraceMs;
      return this.predecessorReapAt !== undefined;
    });
    return removed.map(({ connectionId, topic, meta }) => ({ connectionId, topic, meta }));
  }

  async nodeSilence(nodeId: string): Promise<NodeSilence> {
    const [ms, incarnation] = await this.redis.presenceNodeSilence(this.keys.nodes, this.keys.incarnations, nodeId);
    return { ms: ms < 0 ? Number.POSITIVE_INFINITY : ms, incarnation: incarnation === '' ? undefined : incarnation };
  }

  async reapDeadNodes(): Promise<ReapResult> {
    this.flush();
    const candidates = await this.redis.presenceReapCandidates(
      this.keys.nodes,
      this.keys.clock,
      this.keys.reaping,
      this.nodeTtlMs,
      this.incarnation,
      2 * this.nodeTtlMs,
      REAP_NODES_PER_CALL,
      this.nodeId,
      this.memberGraceMs,
    );
    const removed: ReapedMembership[] = [];
    const counts = new Map<string, TopicCount>();
    for (const node of candidates) {
      const result = await this.sweep(node, () => false);
      removed.push(...result.removed);
      for (const [topic, count] of result.counts) counts.set(topic, count);
      await this.redis.presenceReapFinish(
        this.keys.nodes,
        this.keys.reaping,
        this.keys.incarnations,
        node,
        this.nodeTtlMs,
        this.incarnation,
        0,
      );
    }
    if (this.predecessorReapAt !== undefined && performance.now() >= this.predecessorReapAt) {
      // The grace of a predecessor's connections has passed: what was not taken over meanwhile left.
      this.predecessorReapAt = undefined;
      const own = `${this.incarnation}.`;
      const result = await this.sweep(this.nodeId, (entryGen) => entryGen.startsWith(own));
      removed.push(...result.removed);
      for (const [topic, count] of result.counts) counts.set(topic, count);
    }
    return { removed, counts: [...counts.values()] };
  }

  async deregister(keep: readonly KeptMembership[] = []): Promise<TopicCount[]> {
    this.flush();
    const kept = new Set(keep.map((m) => m.connectionId + SEP + m.topic));
    const { counts } = await this.sweep(this.nodeId, (_gen, field) => kept.has(field));
    await this.redis.presenceReapFinish(
      this.keys.nodes,
      this.keys.reaping,
      this.keys.incarnations,
      this.nodeId,
      this.nodeTtlMs,
      this.incarnation,
      kept.size === 0 ? 1 : 2,
    );
    return [...counts.values()];
  }

  async close(): Promise<void> {
    this.flush();
    this.subscriber.off('smessage', this.onMessage);
    this.listening = false;
    this.listeners.clear();
    this.local.clear();
    if (this.subscriber.status === 'ready') await this.subscriptions.clear();
  }

  /**
   * Removes `nodeId`'s memberships whose generation `keep` refuses, a chunk
   * of its index at a time, topic by topic: every call touches one slot and
   * at most `sweepChunkSize` entries, so none blocks Redis for long however
   * many memberships the node had. Resolves with what this caller removed
   * (never also reported to another caller) and each touched topic's count.
   */
  private async sweep(
    nodeId: string,
    keep: (generation: string, field: string) => boolean,
  ): Promise<{ removed: ReapedMembership[]; counts: Map<string, TopicCount> }> {
    const index = this.keys.nodeIndex(nodeId);
    const removed: ReapedMembership[] = [];
    const counts = new Map<string, TopicCount>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(index, cursor, 'COUNT', this.sweepChunkSize);
      cursor = next;
      const perTopic = new Map<string, string[]>();
      const prune: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i] as string;
        const gen = flat[i + 1] as string;
        if (keep(gen, field)) continue;
        const at = field.indexOf(SEP);
        const connectionId = field.slice(0, at);
        const topic = field.slice(at + 1);
        let pairs = perTopic.get(topic);
        if (pairs === undefined) {
          pairs = [];
          perTopic.set(topic, pairs);
        }
        pairs.push(connectionId, gen);
        prune.push(field, gen);
      }
      await Promise.all(
        [...perTopic].map(async ([topic, pairs]) => {
          const keys = this.keys.topic(topic);
          const [count, version, ...flatRemoved] = await this.redis.presenceTopicRemove(
            keys.members,
            keys.version,
            keys.users,
            keys.counts,
            topic,
            this.incarnation,
            nodeId,
            ...pairs,
          );
          counts.set(topic, { topic, count, version: Number(version) });
          for (let i = 0; i + 1 < flatRemoved.length; i += 2) {
            removed.push({ nodeId, connectionId: flatRemoved[i] as string, topic, meta: flatRemoved[i + 1] as string });
          }
        }),
      );
      if (prune.length > 0) await this.redis.presenceIndexPrune(index, ...prune);
    } while (cursor !== '0');
    return { removed, counts };
  }

  private emit(counts: readonly TopicCount[]): void {
    for (const listener of this.listeners) listener(counts);
  }
}
