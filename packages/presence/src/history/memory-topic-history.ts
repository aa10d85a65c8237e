import { randomBytes } from 'node:crypto';
import { historyKeys, type HistoryChannel, type HistoryKeys } from './history-keys.js';
import { formatHistoryMessage } from './history-message.js';
import { checkSinceArguments, resolveHistoryLimits } from './history-options.js';
import type { HistoryItem, Position, SinceResult, TopicHistory, TopicHistoryLimits } from './topic-history.js';

export interface MemoryTopicHistoryOptions extends TopicHistoryLimits {
  /** Prefix of the channels `append` accepts (as the Redis store's keys). Default `rt:`. */
  keyPrefix?: string;
  /** The clock the window is measured with, in ms. Default `Date.now`. */
  now?: () => number;
  /** Receives what `append` publishes, as Redis subscribers of the channel would. */
  onPublish?: (channel: HistoryChannel, message: string) => void;
}

interface TopicState {
  epoch: string;
  top: number;
  /** The newest entries, oldest first: at most the cap + 1 (the entry a reader stands on, and the cap after it). */
  items: HistoryItem[];
  expiresAtMs: number;
}

/**
 * The history of one process, with the same guarantees as the Redis store
 * (for a single node and for tests). Histories of several instances are
 * separate.
 */
export class MemoryTopicHistory implements TopicHistory {
  private readonly topics = new Map<string, TopicState>();
  private readonly keys: HistoryKeys;
  private readonly maxMessagesPerTopic: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly onPublish: ((channel: HistoryChannel, message: string) => void) | undefined;

  constructor(options: MemoryTopicHistoryOptions = {}) {
    ({ maxMessagesPerTopic: this.maxMessagesPerTopic, windowMs: this.windowMs } = resolveHistoryLimits(options));
    this.keys = historyKeys(options.keyPrefix ?? 'rt:');
    this.now = options.now ?? Date.now;
    this.onPublish = options.onPublish;
  }

  /** Forgets everything, as Redis restarting empty does. */
  clear(): void {
    this.topics.clear();
  }

  /** The topic's state if it has not expired (an expired one is forgotten). */
  private live(topic: string): TopicState | undefined {
    const state = this.topics.get(topic);
    if (state !== undefined && this.now() >= state.expiresAtMs) {
      this.topics.delete(topic);
      return undefined;
    }
    return state;
  }

  private createOrGet(topic: string): TopicState {
    let state = this.live(topic);
    if (state === undefined) {
      state = { epoch: randomBytes(8).toString('hex'), top: 0, items: [], expiresAtMs: this.now() + this.windowMs };
      this.topics.set(topic, state);
    }
    return state;
  }

  /** The tag of the entry held at `offset`, if it is held. */
  private tagAt(state: TopicState, offset: number): string | undefined {
    const first = state.items[0];
    return first === undefined ? undefined : state.items[offset - first.offset]?.tag;
  }

  append(topic: string, payload: string, publish?: { channel: HistoryChannel }): Promise<Position> {
    const channel = this.keys.topic(topic).channel;
    if (publish !== undefined && publish.channel !== channel) {
      return Promise.reject(new RangeError(`append publishes only on the topic's own channel`));
    }
    const state = this.createOrGet(topic);
    state.top += 1;
    const tag = randomBytes(8).toString('hex');
    state.items.push({ offset: state.top, tag, payload });
    const kept = this.maxMessagesPerTopic + 1;
    if (state.items.length > kept) state.items.splice(0, state.items.length - kept);
    state.expiresAtMs = this.now() + this.windowMs;
    const position = { offset: state.top, epoch: state.epoch, tag };
    if (publish !== undefined) this.onPublish?.(channel, formatHistoryMessage(position, payload));
    return Promise.resolve(position);
  }

  position(topic: string): Promise<Position> {
    const state = this.createOrGet(topic);
    return Promise.resolve({ offset: state.top, epoch: state.epoch, tag: this.tagAt(state, state.top) ?? '' });
  }

  since(topic: string, from: Position, limit: number, options: { inclusive?: boolean } = {}): Promise<SinceResult> {
    const inclusive = options.inclusive === true && from.offset > 0;
    checkSinceArguments(from, limit);
    const state = this.live(topic);
    // Same checks in the same order as history-since.lua.
    if (state === undefined || state.epoch !== from.epoch) return Promise.resolve({ ok: false, reason: 'epoch' });
    const position = { offset: state.top, epoch: state.epoch, tag: this.tagAt(state, state.top) ?? '' };
    if (from.offset > state.top) return Promise.resolve({ ok: false, reason: 'ahead' });
    if (from.offset > 0) {
      const tag = this.tagAt(state, from.offset);
      if (tag === undefined) return Promise.resolve({ ok: false, reason: 'trimmed' });
      if (tag !== from.tag) return Promise.resolve({ ok: false, reason: 'epoch' });
    }
    if (from.offset === state.top && !inclusive) return Promise.resolve({ ok: true, items: [], position });
    const first = inclusive ? from.offset : from.offset + 1;
    const oldest = state.items[0];
    if (oldest === undefined || oldest.offset > first) return Promise.resolve({ ok: false, reason: 'trimmed' });
    if (state.top - first + 1 > limit) return Promise.resolve({ ok: false, reason: 'too-many' });
    const items = state.items.slice(first - oldest.offset).map((item) => ({ ...item }));
    return Promise.resolve({ ok: true, items, position });
  }
}
