import type { HistoryChannel, TopicHistory } from '@realtime/presence';
import type { TopicBroadcaster } from './topic-broadcaster.js';
import type { StoredEvent, TopicFeed } from './topic-feed.js';

export interface HistoryBroadcasterOptions {
  history: TopicHistory;
  feed: TopicFeed;
  channelOf(topic: string): HistoryChannel;
  /** An event was stored and published (its delivery comes back through the feed). */
  onStored(): void;
  /** Redis could not take an event; `local` says whether this node's members still got it. */
  onFailed(err: unknown, local: boolean): void;
}

/**
 * Recovery on: every event to a topic is appended to the topic's history,
 * which stores it and publishes it on the topic's own channel in one script
 * (one Redis round trip per event, on the topic's slot). Every node, this
 * one included, delivers it from its feed, so each topic's events reach
 * every member in offset order, the order a recovering connection replays.
 *
 * Guarantees: an event whose append resolved is in the history (a reader
 * of the window finds it, or is refused: never a gap); `broadcast` resolves
 * only after that (an ack sent then means "stored"). While Redis fails,
 * `broadcast` still delivers to this node's members, without a history
 * entry; `publish` delivers nothing and rejects.
 */
export function historyBroadcaster(options: HistoryBroadcasterOptions): TopicBroadcaster {
  const { history, feed } = options;
  const append = (topic: string, event: string, envelope: StoredEvent[1]): Promise<unknown> => {
    const payload = JSON.stringify([event, envelope] satisfies StoredEvent);
    return feed.gate(topic, () => history.append(topic, payload, { channel: options.channelOf(topic) }));
  };
  return {
    broadcast(topic, event, envelope) {
      return append(topic, event, envelope).then(
        () => options.onStored(),
        (err: unknown) => {
          options.onFailed(err, true);
          feed.deliverLocally(topic, event, envelope);
        },
      );
    },
    async publish(topic, event, envelope) {
      try {
        await append(topic, event, envelope);
      } catch (err) {
        options.onFailed(err, false);
        throw err;
      }
      options.onStored();
    },
  };
}
