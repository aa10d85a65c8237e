import type { RelayedEnvelope } from '@realtime/protocol';
import {
  parseHistoryMessage,
  ShardedSubscriptions,
  type HistoryChannel,
  type HistoryItem,
  type Position,
  type RedisCommandClient,
  type TopicHistory,
} from '@realtime/presence';
import type { DeliveryLog } from './delivery-log.js';

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
  /** Sends one event to this node's members of `topic`, with its offset token when a log is kept. */
  deliver(topic: string, event: string, envelope: RelayedEnvelope, token: string | undefined): void;
  /** Where the node records what it delivered, in order (session recovery); none: no tokens. */
  log?: DeliveryLog;
  /** Events kept per hold before it overflows (a recovering connection then starts over); also the most a gap is filled with. */
  maxHeldPerTopic?: number;
  /**
   * Where a gap is filled from: when pub/sub lost messages (a subscriber
   * reconnecting, a failover), the next one that arrives shows the jump in
   * offsets, and the missing ones are read from the history and delivered
   * first, in order. Without it a gap is only counted.
   */
  history?: TopicHistory;
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
  /** The tag of the entry at `offset` ('' when unknown): a gap is filled from this position. */
  tag: string;
}

interface Arrival {
  position: Position;
  event: string;
  envelope: RelayedEnvelope;
}

/** An event delivered to a topic's members while a recovering connection was not yet among them. */
export interface HeldEvent {
  /** Undefined when it was delivered without being stored (Redis failed). */
  position: Position | undefined;
  event: string;
  envelope: RelayedEnvelope;
}

/** What a recovering connection missed live between reading the history and joining the topic's room. */
export interface Hold {
  readonly events: HeldEvent[];
  /** More than `maxHeldPerTopic` arrived: the hold dropped them, and the recovery cannot complete. */
  readonly overflowed: boolean;
  release(): void;
}

/** A stored payload as an event, or undefined when it is not one. */
function storedEventOf(payload: string): StoredEvent | undefined {
  let stored: unknown;
  try {
    stored = JSON.parse(payload);
  } catch {
    return undefined;
  }
  return Array.isArray(stored) && typeof stored[0] === 'string' ? (stored as StoredEvent) : undefined;
}

/** A copy that does not keep the whole pub/sub message alive (V8 slices share their parent string). */
const detached = (text: string): string => (text.length <= 12 ? text : Buffer.from(text, 'latin1').toString('latin1'));

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
  private readonly holds = new Map<string, Set<{ events: HeldEvent[]; overflowed: boolean }>>();
  /** Topics whose gap is being filled from the history: what arrives meanwhile waits here, in order. */
  private readonly filling = new Map<string, Arrival[]>();
  private readonly waiters = new Map<string, Set<{ position: Position; done: (reached: boolean) => void }>>();
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
    this.filling.delete(topic);
    this.options.log?.forget(topic);
  }

  /** Whether the topic's channel is subscribed here (it has local members, or a connection is being recovered into it). */
  watches(topic: string): boolean {
    return this.subscriptions === undefined || this.subscriptions.has(topic);
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
    const stored = parsed === undefined ? undefined : storedEventOf(parsed.payload);
    if (parsed === undefined || stored === undefined) {
      this.options.onMalformed?.(channel);
      return;
    }
    const position = { offset: parsed.position.offset, epoch: parsed.position.epoch, tag: detached(parsed.position.tag) };
    this.accept(topic, { position, event: stored[0], envelope: stored[1] }, true);
  }

  /** In offset order, once: a duplicate is dropped, a gap filled from the history first (when `fill`). */
  private accept(topic: string, arrival: Arrival, fill: boolean): void {
    const waiting = this.filling.get(topic);
    if (waiting !== undefined) {
      waiting.push(arrival);
      return;
    }
    const { offset, epoch, tag } = arrival.position;
    const last = this.delivered.get(topic);
    if (last !== undefined && last.epoch === epoch) {
      if (offset <= last.offset) {
        this.options.onDuplicate?.(topic);
        return;
      }
      if (offset > last.offset + 1) {
        if (fill && this.options.history !== undefined && last.tag !== '') return this.fillGap(topic, last, arrival);
        this.options.onGap?.(topic, offset - last.offset - 1);
      }
      last.offset = offset;
      last.tag = tag;
    } else if (this.subscriptions === undefined || this.subscriptions.has(topic)) {
      this.delivered.set(topic, { epoch: detached(epoch), offset, tag });
    }
    const current = this.delivered.get(topic);
    this.send(topic, arrival.event, arrival.envelope, { offset, epoch: current?.epoch ?? detached(epoch), tag });
  }

  private acceptStored(topic: string, epoch: string, item: HistoryItem): void {
    const stored = storedEventOf(item.payload);
    if (stored === undefined) return;
    this.accept(topic, { position: { offset: item.offset, epoch, tag: item.tag }, event: stored[0], envelope: stored[1] }, false);
  }

  /** Reads what pub/sub lost between `from` and `next` and delivers it before `next` (and whatever arrives meanwhile). */
  private fillGap(topic: string, from: Delivered, next: Arrival): void {
    const waiting = [next];
    this.filling.set(topic, waiting);
    const limit = this.options.maxHeldPerTopic ?? 1000;
    void (this.options.history as TopicHistory)
      .since(topic, { offset: from.offset, epoch: from.epoch, tag: from.tag }, limit)
      .catch(() => undefined)
      .then((result) => {
        this.filling.delete(topic);
        if (result?.ok === true) {
          for (const item of result.items) this.acceptStored(topic, from.epoch, item);
        }
        // Refused (trimmed, lost): what is still missing is counted as a gap as the queue goes on.
        for (const arrival of waiting) this.accept(topic, arrival, false);
      });
  }

  /**
   * After this node's subscriptions came back: delivers what every watched
   * topic got meanwhile (a gap at the end shows in no later message).
   */
  async catchUp(): Promise<void> {
    const history = this.options.history;
    if (history === undefined) return;
    await Promise.all(
      [...this.delivered].map(async ([topic, last]) => {
        if (last.tag === '' || this.filling.has(topic)) return;
        const result = await history
          .since(topic, { offset: last.offset, epoch: last.epoch, tag: last.tag }, this.options.maxHeldPerTopic ?? 1000)
          .catch(() => undefined);
        if (result?.ok !== true) return;
        for (const item of result.items) this.acceptStored(topic, last.epoch, item);
      }),
    );
  }

  /** Redis could not take an event: this node's members still get it (it is in no history, and no other node has it). */
  deliverLocally(topic: string, event: string, envelope: RelayedEnvelope): void {
    this.send(topic, event, envelope, undefined);
  }

  /**
   * Keeps every event delivered to `topic` from now on until released: a
   * recovering connection reads the history after this, and is given what
   * arrived meanwhile (deduplicated by offset) when it joins the room.
   */
  hold(topic: string): Hold {
    const state = { events: [] as HeldEvent[], overflowed: false };
    let set = this.holds.get(topic);
    if (set === undefined) {
      set = new Set();
      this.holds.set(topic, set);
    }
    set.add(state);
    const holds = this.holds;
    return {
      events: state.events,
      get overflowed() {
        return state.overflowed;
      },
      release() {
        const current = holds.get(topic);
        current?.delete(state);
        if (current?.size === 0) holds.delete(topic);
      },
    };
  }

  /** Whether this node has delivered the topic up to `position` (same epoch, offset at least its). */
  private hasReached(topic: string, position: Position): boolean {
    const last = this.delivered.get(topic);
    return last !== undefined && last.epoch === position.epoch && last.offset >= position.offset;
  }

  /**
   * Resolves true once this node has delivered `topic` up to `position`
   * (at once if it has), false after `timeoutMs`. A recovery waits here for
   * what it read from the history to have come by live too: whatever comes
   * later is newer than its replay.
   */
  reached(topic: string, position: Position, timeoutMs: number): Promise<boolean> {
    if (this.hasReached(topic, position)) return Promise.resolve(true);
    return new Promise((resolve) => {
      let set = this.waiters.get(topic);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(topic, set);
      }
      const waiter = {
        position,
        done: (reached: boolean) => {
          clearTimeout(timer);
          set.delete(waiter);
          if (set.size === 0 && this.waiters.get(topic) === set) this.waiters.delete(topic);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      set.add(waiter);
    });
  }

  /**
   * For a topic this node just subscribed (no members here yet): treats
   * everything up to `position` as delivered, so copies of it still on
   * their way are dropped instead of reaching a recovered connection that
   * was given them from the history.
   */
  advance(topic: string, position: Position): void {
    if (this.hasReached(topic, position)) return;
    this.delivered.set(topic, { epoch: position.epoch, offset: position.offset, tag: position.tag });
  }

  private send(topic: string, event: string, envelope: RelayedEnvelope, position: Position | undefined): void {
    const log = this.options.log;
    this.options.deliver(topic, event, envelope, log === undefined ? undefined : log.token(log.record(topic, position)));
    if (position !== undefined) {
      const waiters = this.waiters.get(topic);
      if (waiters !== undefined) for (const waiter of [...waiters]) if (this.hasReached(topic, waiter.position)) waiter.done(true);
    }
    const holds = this.holds.get(topic);
    if (holds === undefined) return;
    const max = this.options.maxHeldPerTopic ?? 1000;
    for (const hold of holds) {
      if (hold.events.length >= max) hold.overflowed = true;
      else hold.events.push({ position, event, envelope });
    }
  }

  /** Unsubscribes everything (the node is closing). */
  async close(): Promise<void> {
    this.options.subscriber?.off('smessage', this.onMessage);
    if (this.options.subscriber?.status === 'ready') await this.subscriptions?.clear();
    this.delivered.clear();
  }

  private readonly onMessage = (channel: string, message: string): void => this.receive(channel, message);
}
