import type { RedisCommandClient } from './redis-scripts.js';

interface Subscription {
  /** True once Redis answered the SSUBSCRIBE (or refused it: then `start()` tries again). */
  settled: boolean;
  done: Promise<void>;
}

/**
 * This node's subscriptions to one sharded channel per topic with local
 * members (count channels, history channels), so the traffic a node
 * receives is proportional to its own topics, not to the cluster's.
 *
 * A topic's first write waits for its subscription (`gate`): the write's own
 * announcement, and every later one, then reaches this node, in order (one
 * slot, one connection).
 */
export class ShardedSubscriptions {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly subscriber: RedisCommandClient,
    private readonly channelOf: (topic: string) => string,
  ) {}

  get size(): number {
    return this.subscriptions.size;
  }

  has(topic: string): boolean {
    return this.subscriptions.has(topic);
  }

  topics(): IterableIterator<string> {
    return this.subscriptions.keys();
  }

  watch(topic: string): void {
    if (this.subscriptions.has(topic)) return;
    const subscription: Subscription = { settled: false, done: Promise.resolve() };
    subscription.done = this.subscriber.ssubscribe(this.channelOf(topic)).then(
      () => {
        subscription.settled = true;
      },
      () => {
        // Redis is unreachable: the write it gates fails too, and `resubscribe` retries.
        subscription.settled = true;
      },
    );
    this.subscriptions.set(topic, subscription);
  }

  unwatch(topic: string): void {
    if (!this.subscriptions.delete(topic)) return;
    // Queued behind the SSUBSCRIBE on the same connection, so a later watch ends subscribed.
    this.subscriber.sunsubscribe(this.channelOf(topic)).catch(() => undefined);
  }

  /**
   * Runs `send` once the topic's subscription is confirmed: at once when it
   * is (or when the topic is not watched), else after the writes already
   * waiting for it, in the order they were gated.
   */
  gate<T>(topic: string, send: () => Promise<T>): Promise<T> {
    const subscription = this.subscriptions.get(topic);
    if (subscription === undefined || subscription.settled) return send();
    return subscription.done.then(send);
  }

  /** Subscribes every watched topic again and resolves once Redis confirmed all (after a reconnect). */
  async resubscribe(): Promise<void> {
    // One channel per command: in a cluster, one SSUBSCRIBE may only name channels of one slot.
    await Promise.all([...this.subscriptions.keys()].map((topic) => this.subscriber.ssubscribe(this.channelOf(topic))));
  }

  /** Unsubscribes everything (close). */
  async clear(): Promise<void> {
    const topics = [...this.subscriptions.keys()];
    this.subscriptions.clear();
    await Promise.all(topics.map((topic) => this.subscriber.sunsubscribe(this.channelOf(topic)).catch(() => undefined)));
  }
}
