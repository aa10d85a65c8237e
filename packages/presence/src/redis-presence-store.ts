import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  CountListener,
  LivenessState,
  Membership,
  PresenceChange,
  PresenceStore,
  ReapResult,
  ReapedMembership,
  TopicCount,
} from './presence-store.js';
import { withPresenceCommands, type PresenceCommands } from './redis-scripts.js';
import { parseFlatCounts, parseCountMessage } from './count-message.js';

interface QueuedOperation {
  kind: 'a' | 'r';
  connectionId: string;
  topic: string;
  meta: string;
  resolve(change: PresenceChange): void;
  reject(err: unknown): void;
}

export interface RedisPresenceStoreOptions {
  /** Command connection. Give it `enableOfflineQueue: false` so calls fail fast while Redis is down. */
  redis: Redis;
  /** A connection this store may put in subscriber mode (it may be shared with other subscribers). */
  subscriber: Redis;
  nodeId: string;
  /** Prefix of every key and of the announcement channel. Default `rt:`. */
  keyPrefix?: string;
  /** How long a node stays alive without a heartbeat. Default 5 000 ms. */
  nodeTtlMs?: number;
  /** Memberships per restore script call, so one call never blocks Redis for long. Default 1 000. */
  restoreChunkSize?: number;
}

/**
 * Presence in Redis hashes (see `../lua/README.md` for the key layout).
 * Every mutation is one script call: one round trip, atomic, and announced
 * from inside the script so all subscribers see a topic's counts in order.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly nodeId: string;
  private readonly redis: Redis & PresenceCommands;
  private readonly subscriber: Redis;
  private readonly base: string;
  private readonly seqKey: string;
  private readonly channel: string;
  private readonly nodeTtlMs: number;
  private readonly restoreChunkSize: number;
  private readonly listeners = new Set<CountListener>();
  /**
   * Written with each membership; a restore moves to a new one to find stale
   * entries. Unique to this process (`<incarnation>.<n>`): a process
   * restarted under the same node id, while its predecessor's liveness key
   * still lives, sweeps the predecessor's entries on its first restore
   * instead of taking them for its own.
   */
  private readonly incarnation = randomBytes(6).toString('hex');
  private restores = 0;
  private generation = `${this.incarnation}.0`;
  /** Adds and removes issued in this event-loop turn, sent as one script call (in order). */
  private queued: QueuedOperation[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    const counts = parseCountMessage(message);
    if (counts.length > 0) this.emit(counts);
  };
  private subscribed = false;

  constructor(options: RedisPresenceStoreOptions) {
    this.nodeId = options.nodeId;
    this.redis = withPresenceCommands(options.redis);
    this.subscriber = options.subscriber;
    const prefix = options.keyPrefix ?? 'rt:';
    this.base = `${prefix}{presence}:`;
    this.seqKey = `${this.base}seq`;
    this.channel = `${prefix}presence-counts`;
    this.nodeTtlMs = options.nodeTtlMs ?? 5000;
    this.restoreChunkSize = options.restoreChunkSize ?? 1000;
  }

  /**
   * Subscribes to count announcements; resolves once Redis confirmed the
   * subscription. Safe to call again (after a reconnect, to know when the
   * subscription is back).
   */
  async start(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    this.subscriber.on('message', this.onMessage);
    this.subscribed = true;
    await this.subscriber.subscribe(this.channel);
  }

  add(topic: string, connectionId: string, meta: string): Promise<PresenceChange> {
    return this.enqueue('a', connectionId, topic, meta);
  }

  remove(topic: string, connectionId: string): Promise<PresenceChange> {
    return this.enqueue('r', connectionId, topic, '');
  }

  removeMany(connectionId: string, topics: readonly string[]): Promise<PresenceChange[]> {
    return Promise.all(topics.map((topic) => this.enqueue('r', connectionId, topic, '')));
  }

  /**
   * Joins and leaves are queued and sent once per event-loop turn as one
   * `apply` script (one round trip, one announcement) in the order they were
   * made. Under a connect storm that is one call for many joins.
   */
  private enqueue(kind: 'a' | 'r', connectionId: string, topic: string, meta: string): Promise<PresenceChange> {
    return new Promise((resolve, reject) => {
      this.queued.push({ kind, connectionId, topic, meta, resolve, reject });
      this.flushScheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Sends what is queued now. Other commands call it first, so none overtakes an earlier join or leave. */
  private flush(): void {
    clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    const argv: string[] = [];
    for (const op of batch) argv.push(op.kind, op.connectionId, op.topic, op.meta);
    this.redis.presenceApply(this.seqKey, this.base, this.channel, this.nodeId, this.generation, ...argv).then(
      (flat) => {
        batch.forEach((op, i) => {
          op.resolve({ topic: op.topic, changed: flat[i * 3] === 1, count: Number(flat[i * 3 + 1]), version: Number(flat[i * 3 + 2]) });
        });
      },
      (err: unknown) => {
        for (const op of batch) op.reject(err);
      },
    );
  }

  async count(topic: string): Promise<TopicCount> {
    this.flush();
    const [count, version] = await this.redis.presenceCount(this.seqKey, this.base, topic);
    return { topic, count, version };
  }

  onCounts(listener: CountListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async heartbeat(): Promise<LivenessState> {
    this.flush();
    // A cluster-wide gap of half a TTL between heartbeats is a stall of Redis (or of every node).
    const known = await this.redis.presenceHeartbeat(this.seqKey, this.base, this.nodeId, this.nodeTtlMs, Math.floor(this.nodeTtlMs / 2));
    return known === 1 ? 'alive' : 'lost';
  }

  async restore(memberships: readonly Membership[]): Promise<Membership[]> {
    this.flush();
    this.restores += 1;
    const generation = `${this.incarnation}.${this.restores}`;
    this.generation = generation;
    // Every chunk is queued synchronously, on one connection, before any later
    // add/remove of this node: Redis runs them in that order, so the snapshot
    // can't overwrite a change made after it was taken.
    const calls: Promise<unknown>[] = [];
    let first = true;
    for (let start = 0; first || start < memberships.length; start += this.restoreChunkSize) {
      const argv: string[] = [];
      for (const m of memberships.slice(start, start + this.restoreChunkSize)) {
        argv.push(m.connectionId, m.topic, m.meta);
      }
      calls.push(
        this.redis.presenceRestore(this.seqKey, this.base, this.channel, this.nodeId, this.nodeTtlMs, generation, first ? 1 : 0, ...argv),
      );
      first = false;
    }
    const finished = this.redis.presenceRestoreFinish(this.seqKey, this.base, this.channel, this.nodeId, generation);
    calls.push(finished);
    await Promise.all(calls);
    const flat = await finished;
    const swept: Membership[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      swept.push({ connectionId: flat[i] as string, topic: flat[i + 1] as string, meta: flat[i + 2] as string });
    }
    return swept;
  }

  async reapDeadNodes(): Promise<ReapResult> {
    return this.removeNodes('');
  }

  async deregister(): Promise<TopicCount[]> {
    return (await this.removeNodes(this.nodeId)).counts;
  }

  async close(): Promise<void> {
    this.flush();
    this.subscriber.off('message', this.onMessage);
    this.listeners.clear();
    if (this.subscribed && this.subscriber.status === 'ready') {
      await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
    }
  }

  private async removeNodes(target: string): Promise<ReapResult> {
    this.flush();
    const [flatRemoved, flatCounts] = await this.redis.presenceRemoveNodes(this.seqKey, this.base, this.channel, target, this.nodeTtlMs);
    const removed: ReapedMembership[] = [];
    for (let i = 0; i + 3 < flatRemoved.length; i += 4) {
      removed.push({
        nodeId: flatRemoved[i] as string,
        connectionId: flatRemoved[i + 1] as string,
        topic: flatRemoved[i + 2] as string,
        meta: flatRemoved[i + 3] as string,
      });
    }
    return { removed, counts: parseFlatCounts(flatCounts) };
  }

  private emit(counts: readonly TopicCount[]): void {
    for (const listener of this.listeners) listener(counts);
  }
}
