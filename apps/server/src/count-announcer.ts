import type { TopicCount } from '@realtime/presence';

export interface CountAnnouncerOptions {
  /** At most one announcement per topic per interval (leading and trailing edge). 0 = every change. */
  intervalMs: number;
  /** Whether this node has members of the topic. */
  hasLocalMembers(topic: string): boolean;
  /** Sends the count to this node's members of the topic. */
  emit(count: TopicCount): void;
}

interface TopicState {
  emittedVersion: number;
  emitted: TopicCount | undefined;
  lastEmitAt: number;
  pending: TopicCount | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Announces topic counts to this node's members, guaranteeing:
 * - never a count older than one already announced (versions only grow), so
 *   counts read by different nodes at different moments can't go backwards;
 * - the newest count offered is always announced, at most `intervalMs` late
 *   (a burst of joins is announced once or twice, not once per join).
 * Offers come from the store's announcements and from this node's own
 * add/remove results, in any order.
 */
export class CountAnnouncer {
  private readonly topics = new Map<string, TopicState>();

  constructor(private readonly options: CountAnnouncerOptions) {}

  offer(count: TopicCount): void {
    if (!this.options.hasLocalMembers(count.topic)) {
      this.forget(count.topic);
      return;
    }
    let state = this.topics.get(count.topic);
    if (state === undefined) {
      state = { emittedVersion: 0, emitted: undefined, lastEmitAt: -Infinity, pending: undefined, timer: undefined };
      this.topics.set(count.topic, state);
    }
    if (count.version <= Math.max(state.emittedVersion, state.pending?.version ?? 0)) return;
    state.pending = count;
    if (state.timer !== undefined) return;
    const wait = state.lastEmitAt + this.options.intervalMs - performance.now();
    if (wait <= 0) {
      this.flush(count.topic, state);
    } else {
      state.timer = setTimeout(() => this.flush(count.topic, state), wait);
    }
  }

  /**
   * The newest of `count` and what this node announced or will announce for
   * the topic: what a member that missed the announcements should be told.
   */
  newest(count: TopicCount): TopicCount {
    const state = this.topics.get(count.topic);
    const known = state?.pending ?? state?.emitted;
    return known !== undefined && known.version > count.version ? known : count;
  }

  /** Topics with announcement state (for tests and metrics: it must not grow without bound). */
  get size(): number {
    return this.topics.size;
  }

  close(): void {
    for (const state of this.topics.values()) clearTimeout(state.timer);
    this.topics.clear();
  }

  private flush(topic: string, state: TopicState): void {
    state.timer = undefined;
    const pending = state.pending;
    state.pending = undefined;
    if (pending === undefined) return;
    if (!this.options.hasLocalMembers(topic)) {
      this.forget(topic);
      return;
    }
    state.emittedVersion = pending.version;
    state.emitted = pending;
    state.lastEmitAt = performance.now();
    this.options.emit(pending);
  }

  private forget(topic: string): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    clearTimeout(state.timer);
    this.topics.delete(topic);
  }
}
