import type { RelayedEnvelope } from '@realtime/protocol';
import { parseHistoryMessage, ShardedSubscriptions, type HistoryChannel, type RedisCommandClient } from '@realtime/presence';

/** What a stored event carries in the history: its name and envelope, JSON-encoded once by the node that appends it. */
export type StoredEvent = [event: string, envelope: RelayedEnvelope];

export interface TopicFeedOptions {
  /** A topic's history channel, and the prefix every such channel starts with. */
  channelOf(topic: string): HistoryChannel;
  channelPrefix: string;
  /**
   * The connection that SSUBSCRIBEs the topics' channels (shared with the
   * presence store's count channels). Undefined on a single node: appends
   * are handed to `receive` in-process.
   */
  subscriber: RedisCommandClient | undefined;
  /** Sends one event to this node's members of `topic`. */
  deliver(topic: string, event: string, envelope: RelayedEnvelope): void;
  /** A message at or below the last offset delivered for its topic (a resubscription replaying, a second subscription): dropped. */
  onDuplicate?(topic: string): void;
  /** Offsets skipped: pub/sub lost them (a subscriber reconnecting) and this node's members never got them live. */
  onGap?(topic: string, missed: number): void;
  /** A message on a history channel that is not one (wrong format or payload): dropped. */
  onMalformed?(channel: string): void;
}

interface Delivered {
  epoch: string;
  offset: number;
}

/**
 * This node's side of the topic history: one sharded subscription per topic
 * with local members, and delivery of what arrives on it to those members,
 * at most once each and in offset order per topic (one slot, one
 * connection: Redis publishes a topic's appends in offset order).
 *
 * A node delivers its own members' messages from here too, not when its
 * append returns: every node then sends a topic's events in the same order.
 */
export class TopicFeed {
  private readonly subscriptions: ShardedSubscriptions | undefined;
  private readonly delivered = new Map<string, Delivered>();
  private readonly prefixLength: number;

  constructor(private readonly options: TopicFeedOptions) {
    this.prefixLength = options.channelPrefix.length;
    if (options.subscriber !== undefined) {
      this.subscriptions = new ShardedSubscriptions(options.subscriber, (topic) => options.channelOf(topic));
      options.subscriber.on('smessage', this.onMessage);
    }
  }

  /** Topics whose channel this node subscribes (those with local members). */
  get size(): number {
    return this.subscriptions?.size ?? 0;
  }

  /** The topic got its first local member: subscribe its channel. */
  watch(topic: string): void {
    this.subscriptions?.watch(topic);
  }

  /** The topic's last local member left: unsubscribe and forget where its delivery stood. */
  unwatch(topic: string): void {
    this.subscriptions?.unwatch(topic);
    this.delivered.delete(topic);
  }

  /**
   * Runs `append` once the topic's subscription is confirmed, so what it
   * publishes (and everything after it) reaches this node's members too.
   */
  gate<T>(topic: string, append: () => Promise<T>): Promise<T> {
    return this.subscriptions === undefined ? append() : this.subscriptions.gate(topic, append);
  }

  /** Resolves once what any node appends to `topic` reaches this node (a join's ack waits for it). */
  ready(topic: string): Promise<void> {
    return this.gate(topic, () => Promise.resolve());
  }

  /** Subscribes every watched topic again (after a reconnect, failover or slot move); resolves once Redis confirmed all. */
  async resubscribe(): Promise<void> {
    await this.subscriptions?.resubscribe();
  }

  /** A message published on a history channel (the subscriber's `smessage`, or a single node's in-process append). */
  receive(channel: string, message: string): void {
    if (!channel.startsWith(this.options.channelPrefix)) return;
    // `<prefix>h:{t:<topic>}`: the topic is what stands between `{t:` and the last `}`.
    const topic = channel.slice(this.prefixLength + 3, -1);
    const parsed = parseHistoryMessage(message);
    let stored: StoredEvent | undefined;
    try {
      stored = parsed === undefined ? undefined : (JSON.parse(parsed.payload) as StoredEvent);
    } catch {
      stored = undefined;
    }
    if (parsed === undefined || !Array.isArray(stored) || typeof stored[0] !== 'string') {
      this.options.onMalformed?.(channel);
      return;
    }
    const { offset, epoch } = parsed.position;
    const last = this.delivered.get(topic);
    if (last !== undefined && last.epoch === epoch) {
      if (offset <= last.offset) {
        this.options.onDuplicate?.(topic);
        return;
      }
      if (offset > last.offset + 1) this.options.onGap?.(topic, offset - last.offset - 1);
      last.offset = offset;
    } else if (this.subscriptions === undefined || this.subscriptions.has(topic)) {
      this.delivered.set(topic, { epoch, offset });
    }
    this.options.deliver(topic, stored[0], stored[1]);
  }

  /** Redis could not take an event: this node's members still get it (it is in no history, and no other node has it). */
  deliverLocally(topic: string, event: string, envelope: RelayedEnvelope): void {
    this.options.deliver(topic, event, envelope);
  }

  /** Unsubscribes everything (the node is closing). */
  async close(): Promise<void> {
    this.options.subscriber?.off('smessage', this.onMessage);
    if (this.options.subscriber?.status === 'ready') await this.subscriptions?.clear();
    this.delivered.clear();
  }

  private readonly onMessage = (channel: string, message: string): void => this.receive(channel, message);
}
