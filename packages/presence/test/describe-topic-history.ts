import { describe, expect, it } from 'vitest';
import { historyKeys, parseHistoryMessage, type HistoryChannel, type Position, type TopicHistory } from '../src/index.js';

/** What a contract run needs from an implementation. */
export interface TopicHistoryFixture {
  /** Prefix the histories use (their channels are built under it). */
  keyPrefix: string;
  /** A history on a connection of its own (so two of them are two clients), closed after the test. */
  history(options?: { maxMessagesPerTopic?: number; windowMs?: number }): Promise<TopicHistory>;
  /** Resolves once `windowMs` has passed since the topic's last append and its history is gone. */
  outlive(topic: string, windowMs: number): Promise<void>;
  /** The backing state loses everything, as Redis restarting empty does. */
  wipe(): Promise<void>;
  /** Starts receiving `channel` (resolves once subscribed); returns what arrived so far, in arrival order. */
  listen(channel: HistoryChannel): Promise<string[]>;
  /** Resolves once `seen` holds `n` messages (pub/sub is asynchronous). */
  awaitMessages(seen: string[], n: number): Promise<void>;
}

const payloads = (n: number, tag = 'm'): string[] => Array.from({ length: n }, (_, i) => `${tag}${i + 1}`);

async function appendAll(history: TopicHistory, topic: string, items: string[]): Promise<Position[]> {
  const positions: Position[] = [];
  for (const payload of items) positions.push(await history.append(topic, payload));
  return positions;
}

/**
 * The behaviour every TopicHistory must have. Each test gets a fresh fixture
 * from `setup` (which registers its own teardown).
 */
export function describeTopicHistory(name: string, setup: () => Promise<TopicHistoryFixture>): void {
  describe(`TopicHistory contract: ${name}`, () => {
    it('numbers appends from 1 up by 1 in one epoch, and starts a new reader at the top', async () => {
      const history = await (await setup()).history();
      const start = await history.position('chan');
      expect(start.offset).toBe(0);
      expect(start.epoch).toMatch(/^[0-9a-f]{16}$/);
      expect(start.tag).toBe('');
      const positions = await appendAll(history, 'chan', payloads(5));
      expect(positions).toEqual(
        [1, 2, 3, 4, 5].map((offset) => ({ offset, epoch: start.epoch, tag: expect.stringMatching(/^[0-9a-f]{16}$/) })),
      );
      expect(new Set(positions.map((p) => p.tag)).size).toBe(5);
      expect(await history.position('chan')).toEqual(positions[4]);
    });

    it('gives exactly the entries after a position, in order, with the position to go on from', async () => {
      const history = await (await setup()).history();
      const start = await history.position('chan');
      const p = await appendAll(history, 'chan', ['a', 'b\u001fwith separator', '', 'd']);
      const item = (i: number, payload: string) => ({ offset: i + 1, tag: p[i]!.tag, payload });
      const all = await history.since('chan', start, 10);
      expect(all).toEqual({
        ok: true,
        items: [item(0, 'a'), item(1, 'b\u001fwith separator'), item(2, ''), item(3, 'd')],
        position: p[3],
      });
      expect(await history.since('chan', p[1]!, 2)).toEqual({ ok: true, items: [item(2, ''), item(3, 'd')], position: p[3] });
      // Up to date: nothing missed.
      expect(await history.since('chan', p[3]!, 1)).toEqual({ ok: true, items: [], position: p[3] });
      // Round trip: a position from since() reads on, seeing only what came after it.
      if (!all.ok) throw new Error('unreachable');
      await history.append('chan', 'e');
      expect(await history.since('chan', all.position, 10)).toMatchObject({ ok: true, items: [{ offset: 5, payload: 'e' }] });
    });

    it('inclusive: gives the entry at the position too, checked by its tag, and refuses one no longer held', async () => {
      const cap = 3;
      const history = await (await setup()).history({ maxMessagesPerTopic: cap });
      const p = await appendAll(history, 'chan', ['a', 'b', 'c']);
      const item = (i: number, payload: string) => ({ offset: i + 1, tag: p[i]!.tag, payload });
      expect(await history.since('chan', p[1]!, 10, { inclusive: true })).toEqual({
        ok: true,
        items: [item(1, 'b'), item(2, 'c')],
        position: p[2],
      });
      // At the top: the top entry itself.
      expect(await history.since('chan', p[2]!, 10, { inclusive: true })).toEqual({ ok: true, items: [item(2, 'c')], position: p[2] });
      // The limit counts the entry at the position.
      expect(await history.since('chan', p[1]!, 1, { inclusive: true })).toEqual({ ok: false, reason: 'too-many' });
      // Another message at that offset (a failover that lost it): refused, not served.
      expect(await history.since('chan', { ...p[1]!, tag: 'ffffffffffffffff' }, 10, { inclusive: true })).toEqual({
        ok: false,
        reason: 'epoch',
      });
      // Trimmed: the cap keeps cap + 1 entries (offsets 2..5 after two more appends), so offset 1 is gone.
      await appendAll(history, 'chan', ['d', 'e']);
      expect(await history.since('chan', p[0]!, 10, { inclusive: true })).toEqual({ ok: false, reason: 'trimmed' });
    });

    it('refuses a position ahead of the top, and more entries than the limit', async () => {
      const history = await (await setup()).history();
      const [, , third] = await appendAll(history, 'chan', payloads(3));
      const epoch = third!.epoch;
      expect(await history.since('chan', { offset: 4, epoch, tag: third!.tag }, 10)).toEqual({ ok: false, reason: 'ahead' });
      expect(await history.since('chan', { offset: 0, epoch, tag: '' }, 2)).toEqual({ ok: false, reason: 'too-many' });
      expect(await history.since('chan', { offset: 0, epoch, tag: '' }, 3)).toMatchObject({
        ok: true,
        items: payloads(3).map((payload, i) => ({ offset: i + 1, payload })),
      });
    });

    it('serves a reader at most maxMessagesPerTopic entries behind: one further behind is refused as trimmed', async () => {
      const cap = 10;
      const history = await (await setup()).history({ maxMessagesPerTopic: cap });
      const start = await history.position('chan');
      const p = await appendAll(history, 'chan', payloads(cap + 5));
      expect(await history.since('chan', start, 1000)).toEqual({ ok: false, reason: 'trimmed' });
      // Offset 4 is cap + 1 behind the top (15).
      expect(await history.since('chan', p[3]!, 1000)).toEqual({ ok: false, reason: 'trimmed' });
      const kept = await history.since('chan', p[4]!, 1000);
      expect(kept).toEqual({
        ok: true,
        items: payloads(cap + 5)
          .slice(5)
          .map((payload, i) => ({ offset: 6 + i, tag: p[5 + i]!.tag, payload })),
        position: p[cap + 4],
      });
    });

    it("forgets an idle topic's history once the window has passed: its old positions are refused", async () => {
      const windowMs = 300;
      const fixture = await setup();
      const history = await fixture.history({ windowMs });
      const [first] = await appendAll(history, 'idle', ['x', 'y']);
      await fixture.outlive('idle', windowMs);
      expect(await history.since('idle', { offset: 0, epoch: first!.epoch, tag: '' }, 10)).toEqual({ ok: false, reason: 'epoch' });
      const fresh = await history.position('idle');
      expect(fresh.offset).toBe(0);
      expect(fresh.epoch).not.toBe(first!.epoch);
      expect(await history.append('idle', 'z')).toMatchObject({ offset: 1, epoch: fresh.epoch });
    });

    it('starts a new epoch after the history is lost, and refuses every position of the old one', async () => {
      const fixture = await setup();
      const history = await fixture.history();
      const before = await appendAll(history, 'chan', payloads(3));
      const old = before[0]!.epoch;
      await fixture.wipe();
      // Both a reader arriving after the loss and an append see a new history.
      const after = await history.append('chan', 'again');
      expect(after.offset).toBe(1);
      expect(after.epoch).not.toBe(old);
      expect(await history.since('chan', { offset: 0, epoch: old, tag: '' }, 10)).toEqual({ ok: false, reason: 'epoch' });
      expect(await history.since('chan', before[2]!, 10)).toEqual({ ok: false, reason: 'epoch' });
      await fixture.wipe();
      expect(await history.since('chan', after, 10)).toEqual({ ok: false, reason: 'epoch' });
      expect((await history.position('chan')).epoch).not.toBe(after.epoch);
    });

    it('gives concurrent appends of two clients to one topic distinct consecutive offsets', async () => {
      const fixture = await setup();
      const [a, b] = [await fixture.history(), await fixture.history()];
      const start = await a.position('chan');
      const positions = await Promise.all([
        ...payloads(50, 'a').map((payload) => a.append('chan', payload)),
        ...payloads(50, 'b').map((payload) => b.append('chan', payload)),
      ]);
      expect(positions.map((p) => p.offset).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(new Set(positions.map((p) => p.epoch))).toEqual(new Set([start.epoch]));
      // Each client's own appends are stored in the order it made them, under the offsets it was told.
      const all = await b.since('chan', start, 100);
      if (!all.ok) throw new Error(`refused: ${all.reason}`);
      expect(all.items.map((item) => item.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      const told = new Map(positions.map((p, i) => [p.offset, i < 50 ? `a${i + 1}` : `b${i - 49}`]));
      for (const item of all.items) expect(item.payload).toBe(told.get(item.offset));
    });

    it('refuses a position whose entry is another message than the one the reader has (epoch)', async () => {
      const history = await (await setup()).history();
      const p = await appendAll(history, 'chan', payloads(5));
      // The offset and epoch of a held entry with another tag: what a reader of a message a failover lost holds.
      expect(await history.since('chan', { ...p[2]!, tag: 'ffffffffffffffff' }, 10)).toEqual({ ok: false, reason: 'epoch' });
      expect(await history.since('chan', { ...p[4]!, tag: '' }, 10)).toEqual({ ok: false, reason: 'epoch' });
      expect(await history.since('chan', p[2]!, 10)).toMatchObject({ ok: true, items: [{ offset: 4 }, { offset: 5 }] });
    });

    it('keeps topics independent', async () => {
      const history = await (await setup()).history({ maxMessagesPerTopic: 3 });
      const one = await history.position('one');
      const two = await history.position('two');
      await appendAll(history, 'one', payloads(5, 'one-'));
      await appendAll(history, 'two', payloads(2, 'two-'));
      expect(await history.position('two')).toMatchObject({ offset: 2, epoch: two.epoch });
      expect(await history.since('two', two, 10)).toMatchObject({ ok: true, items: [{ payload: 'two-1' }, { payload: 'two-2' }] });
      expect(await history.since('one', one, 10)).toEqual({ ok: false, reason: 'trimmed' });
      // A position of one topic means nothing in another.
      expect(await history.since('two', { offset: 0, epoch: one.epoch, tag: '' }, 10)).toEqual({ ok: false, reason: 'epoch' });
    });

    it('publishes each appended message once, in offset order, with its position, on the topic’s channel', async () => {
      const fixture = await setup();
      const [a, b] = [await fixture.history(), await fixture.history()];
      const keys = historyKeys(fixture.keyPrefix);
      const seen = await fixture.listen(keys.topic('chan').channel);
      const elsewhere = await fixture.listen(keys.topic('other').channel);
      await Promise.all([
        ...payloads(20, 'a').map((payload) => a.append('chan', payload, { channel: keys.topic('chan').channel })),
        ...payloads(20, 'b').map((payload) => b.append('chan', payload, { channel: keys.topic('chan').channel })),
      ]);
      // Not published: stored only.
      const quiet = await a.append('chan', 'quiet');
      const last = await a.append('chan', 'last', { channel: keys.topic('chan').channel });
      await fixture.awaitMessages(seen, 41);
      const parsed = seen.map((message) => parseHistoryMessage(message));
      expect(parsed.map((m) => m?.position.offset)).toEqual([...Array.from({ length: 40 }, (_, i) => i + 1), last.offset]);
      expect(new Set(parsed.map((m) => m?.position.epoch))).toEqual(new Set([last.epoch]));
      expect(parsed.some((m) => m?.payload === 'quiet')).toBe(false);
      expect(quiet.offset).toBe(41);
      // What was published is what was stored under the same offsets.
      const stored = await a.since('chan', { offset: 0, epoch: last.epoch, tag: '' }, 100);
      if (!stored.ok) throw new Error(`refused: ${stored.reason}`);
      const byOffset = new Map(stored.items.map((item) => [item.offset, item]));
      for (const m of parsed) {
        expect(m?.payload).toBe(byOffset.get(m!.position.offset)?.payload);
        expect(m?.position.tag).toBe(byOffset.get(m!.position.offset)?.tag);
      }
      expect(elsewhere).toEqual([]);
      // Another topic's channel is refused before anything is stored.
      await expect(a.append('chan', 'misrouted', { channel: keys.topic('other').channel })).rejects.toThrow(/own channel/);
      expect(await a.position('chan')).toEqual(last);
    });
  });
}
