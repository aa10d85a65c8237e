import { describe, expect, it, vi } from 'vitest';
import { MemoryTopicHistory, historyKeys, type HistoryChannel } from '@realtime/presence';
import type { RelayedEnvelope } from '@realtime/protocol';
import { TopicFeed } from '../src/recovery/topic-feed.js';

/**
 * A node's feed of one topic's history: what pub/sub brings, delivered to
 * the node's members once each and in offset order. Pub/sub is at most
 * once (a subscriber reconnecting, a failover): a jump in offsets is filled
 * from the history before the message after it, and after a resubscription
 * `catchUp` delivers what came meanwhile. Driven by hand here, message by
 * message, as the subscriber would (the multi-node tests use real Redis).
 */
const keys = historyKeys('rt:');
const TOPIC = 'c\u001ffeed';

function rig(maxMessagesPerTopic = 100, maxHeldPerTopic?: number) {
  const published: { channel: HistoryChannel; message: string }[] = [];
  const history = new MemoryTopicHistory({ maxMessagesPerTopic, onPublish: (channel, message) => published.push({ channel, message }) });
  const delivered: string[] = [];
  const gaps: number[] = [];
  let duplicates = 0;
  const feed = new TopicFeed({
    channelOf: (topic) => keys.topic(topic).channel,
    channelPrefix: keys.channelPrefix,
    subscriber: undefined,
    history,
    ...(maxHeldPerTopic === undefined ? {} : { maxHeldPerTopic }),
    deliver: (_topic, _event, envelope: RelayedEnvelope) => delivered.push(envelope.data.message),
    onDuplicate: () => duplicates++,
    onGap: (_topic, missed) => gaps.push(missed),
  });
  const append = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const message = String(published.length + 1);
      const envelope = { data: { message, roomId: null, roomChannel: 'feed' }, time: '', clientId: 'c', source: {}, serverTime: '' };
      await history.append(TOPIC, JSON.stringify(['feed', envelope]), { channel: keys.topic(TOPIC).channel });
    }
  };
  /** Hands the feed the n-th published message (1-based), as its subscription would. */
  const arrive = (n: number): void => {
    const { channel, message } = published[n - 1]!;
    feed.receive(channel, message);
  };
  return { feed, append, arrive, delivered, gaps, duplicates: () => duplicates };
}

describe('TopicFeed', () => {
  it('fills a gap pub/sub left from the history, before the message that showed it, and keeps later arrivals behind it', async () => {
    const { append, arrive, delivered, gaps, duplicates } = rig();
    await append(6);
    arrive(1);
    arrive(2);
    // 3 and 4 were lost on the way; 5 shows the jump, 6 arrives while the gap is read.
    arrive(5);
    arrive(6);
    expect(delivered).toEqual(['1', '2']);
    await vi.waitFor(() => expect(delivered).toHaveLength(6));
    expect(delivered).toEqual(['1', '2', '3', '4', '5', '6']);
    // 5 and 6 came twice (read, then arrived): once each to the members.
    expect(duplicates()).toBe(2);
    await append(1);
    arrive(7);
    expect(delivered.at(-1)).toBe('7');
    expect(gaps).toEqual([]);
  });

  it('a hold keeps what is delivered after it, up to maxHeldPerTopic, then says it overflowed; released, it keeps nothing more', async () => {
    const { feed, append, arrive, delivered } = rig(100, 3);
    await append(6);
    arrive(1);
    const hold = feed.hold(TOPIC);
    arrive(2);
    arrive(3);
    arrive(4);
    expect(hold.events.map((e) => e.envelope.data.message)).toEqual(['2', '3', '4']);
    expect(hold.overflowed).toBe(false);
    // One more than a hold keeps: the recovery it serves must start over (its connection is closed).
    arrive(5);
    expect(hold.events).toHaveLength(3);
    expect(hold.overflowed).toBe(true);
    hold.release();
    arrive(6);
    expect(hold.events).toHaveLength(3);
    // The members got everything all along.
    expect(delivered).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('drops a message it already delivered (a resubscription replaying one)', async () => {
    const { append, arrive, delivered, duplicates } = rig();
    await append(3);
    arrive(1);
    arrive(2);
    arrive(2);
    arrive(3);
    arrive(1);
    expect(delivered).toEqual(['1', '2', '3']);
    expect(duplicates()).toBe(2);
  });

  it('catchUp after a resubscription delivers what came meanwhile, at the end too', async () => {
    const { feed, append, arrive, delivered } = rig();
    await append(4);
    arrive(1);
    // 2, 3 and 4 were published while the subscription was down: no later message shows the gap.
    await feed.catchUp();
    expect(delivered).toEqual(['1', '2', '3', '4']);
  });

  it('a gap the history can no longer fill (trimmed) is counted and delivery goes on: never a wait without end', async () => {
    const { append, arrive, delivered, gaps } = rig(2);
    await append(8);
    arrive(1);
    arrive(8);
    await vi.waitFor(() => expect(delivered).toEqual(['1', '8']));
    expect(gaps).toEqual([6]);
  });
});
