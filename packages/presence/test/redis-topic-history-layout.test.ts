import { describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { keySlot, pollUntil, uniqueKeyPrefix } from '@realtime/testing';
import { RedisTopicHistory, historyKeys, presenceKeys } from '../src/index.js';
import { privateRedis } from './private-redis.js';

/**
 * What the Redis history does beyond the shared contract: one Redis call
 * per append (store, trim, expire and publish in one script), every key
 * bounded in time and length, and every key and the channel of a topic in
 * the topic's slot. On a private server, so its command counts are ours.
 */
function historyOn(url: string, keyPrefix: string, options: { maxMessagesPerTopic?: number; windowMs?: number } = {}): RedisTopicHistory {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  onTestFinished(() => {
    client.disconnect();
  });
  return new RedisTopicHistory({ redis: client, keyPrefix, ...options });
}

async function keysUnder(admin: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('RedisTopicHistory key layout and cost', () => {
  it('appends, trims, expires and publishes in exactly one Redis command', async () => {
    const { url, admin } = await privateRedis();
    const prefix = uniqueKeyPrefix('history-calls');
    const history = historyOn(url, prefix);
    const { channel } = historyKeys(prefix).topic('chan');
    // Loads the script (a first EVALSHA answers NOSCRIPT, then EVAL).
    await history.append('chan', 'warm', { channel });

    const commands: { args: string[]; source: string }[] = [];
    const monitor = await admin.monitor();
    onTestFinished(() => {
      monitor.disconnect();
    });
    monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ args, source }));
    const subscriber = new Redis(url, { maxRetriesPerRequest: 1 });
    onTestFinished(() => {
      subscriber.disconnect();
    });
    const heard: string[] = [];
    subscriber.on('smessage', (_from: string, message: string) => heard.push(message));
    await subscriber.ssubscribe(channel);
    const marker = `end-${prefix}`;
    commands.length = 0;

    const position = await history.append('chan', 'payload', { channel });
    await admin.echo(marker);
    await pollUntil('the marker monitored', 5000, async () => (commands.some((c) => c.args[1] === marker) ? true : undefined));
    const sent = commands.slice(
      0,
      commands.findIndex((c) => c.args[1] === marker),
    );
    // What the client sent: one EVALSHA; everything else ran inside it.
    expect(sent.filter((c) => c.source !== 'lua').map((c) => c.args[0]?.toLowerCase())).toEqual(['evalsha']);
    expect(sent.filter((c) => c.source === 'lua').map((c) => c.args[0]?.toLowerCase())).toEqual([
      'hget',
      'hincrby',
      'xadd',
      'pexpire',
      'pexpire',
      'spublish',
    ]);
    expect(position.offset).toBe(2);
    await pollUntil('the message received', 5000, async () => (heard.length === 1 ? true : undefined));
  });

  it('bounds every key: at most windowMs to live, exactly maxMessagesPerTopic entries', async () => {
    const { url, admin } = await privateRedis();
    const prefix = uniqueKeyPrefix('history-bounds');
    const windowMs = 60_000;
    const cap = 1000;
    const history = historyOn(url, prefix, { windowMs, maxMessagesPerTopic: cap });
    const keys = historyKeys(prefix);

    await history.position('quiet');
    await Promise.all(Array.from({ length: cap + 100 }, (_, i) => history.append('busy', `m${i}`)));
    const found = await keysUnder(admin, prefix);
    expect(found).toEqual([keys.topic('busy').meta, keys.topic('busy').stream, keys.topic('quiet').meta].sort());
    for (const key of found) {
      const ttl = await admin.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(windowMs);
    }
    // Exact trimming ("MAXLEN", not "MAXLEN ~"): since() depends on it. The cap, plus the entry a reader stands on.
    expect(await admin.xlen(keys.topic('busy').stream)).toBe(cap + 1);
    expect(await admin.hget(keys.topic('busy').meta, 'top')).toBe(String(cap + 100));
  });

  it("keeps a topic's history keys and its channel in the topic's slot, beside its presence keys", async () => {
    const { url, admin } = await privateRedis();
    const prefix = uniqueKeyPrefix('history-slots');
    const history = historyOn(url, prefix);
    const topics = Array.from({ length: 40 }, (_, i) => `r\u001fchannel-${i}\u001froom`);
    await Promise.all(topics.map((topic) => history.append(topic, 'x')));
    const found = await keysUnder(admin, prefix);
    expect(found).toHaveLength(2 * topics.length);
    const slots = new Set<number>();
    for (const topic of topics) {
      const { meta, stream, channel } = historyKeys(prefix).topic(topic);
      expect(found).toContain(meta);
      expect(found).toContain(stream);
      const slot = keySlot(presenceKeys(prefix).topic(topic).members);
      expect([keySlot(meta), keySlot(stream), keySlot(channel)]).toEqual([slot, slot, slot]);
      slots.add(slot);
    }
    expect(slots.size).toBeGreaterThan(35);
    // The history channels never pass for presence count channels.
    expect(historyKeys(prefix).topic('chan').channel.startsWith(presenceKeys(prefix).countChannelPrefix)).toBe(false);
  });

  it('refuses rather than answer with a gap when Redis lost part of a history (an evicted stream, a deleted entry, a lost hash)', async () => {
    const { url, admin } = await privateRedis();
    const prefix = uniqueKeyPrefix('history-loss');
    const history = historyOn(url, prefix);
    const { meta, stream } = historyKeys(prefix).topic('chan');
    const start = await history.position('chan');
    const p = [start];
    for (let i = 1; i <= 5; i++) p.push(await history.append('chan', `m${i}`));

    // An entry gone from the middle: nothing that would span it, or stand on it, is answered.
    await admin.xdel(stream, '3-1');
    expect(await history.since('chan', p[0]!, 10)).toEqual({ ok: false, reason: 'trimmed' });
    expect(await history.since('chan', p[1]!, 10)).toEqual({ ok: false, reason: 'trimmed' });
    expect(await history.since('chan', p[3]!, 10)).toEqual({ ok: false, reason: 'trimmed' });
    expect(await history.since('chan', p[4]!, 10)).toMatchObject({ ok: true, items: [{ offset: 5 }] });

    // The stream evicted, the hash kept: offsets go on, and no position can be checked against an entry any more.
    await admin.del(stream);
    expect(await history.since('chan', p[2]!, 10)).toEqual({ ok: false, reason: 'trimmed' });
    expect(await history.since('chan', p[5]!, 10)).toEqual({ ok: false, reason: 'trimmed' });
    const sixth = await history.append('chan', 'm6');
    expect(sixth).toMatchObject({ offset: 6, epoch: start.epoch });
    expect(await history.since('chan', p[5]!, 10)).toEqual({ ok: false, reason: 'trimmed' });
    expect(await history.since('chan', sixth, 10)).toEqual({ ok: true, items: [], position: sixth });

    // The hash lost, the stream kept: a new epoch, and the old entries are no part of it.
    await admin.del(meta);
    expect(await history.since('chan', sixth, 10)).toEqual({ ok: false, reason: 'epoch' });
    const fresh = await history.append('chan', 'n1');
    expect(fresh.offset).toBe(1);
    expect(fresh.epoch).not.toBe(start.epoch);
    expect(await history.since('chan', { offset: 0, epoch: fresh.epoch, tag: '' }, 10)).toEqual({
      ok: true,
      items: [{ offset: 1, tag: fresh.tag, payload: 'n1' }],
      position: fresh,
    });
    expect(await admin.xlen(stream)).toBe(1);
  });

  it('a failover that lost the last appends hands their offsets out again: a reader of a lost message is refused, never served a gap', async () => {
    const { url, admin } = await privateRedis();
    const prefix = uniqueKeyPrefix('history-failover');
    const history = historyOn(url, prefix);
    const { meta, stream } = historyKeys(prefix).topic('chan');
    const p = [await history.position('chan')];
    for (let i = 1; i <= 5; i++) p.push(await history.append('chan', `m${i}`));
    // What the promoted replica has: the history as it was after the third append (same epoch, top 3).
    // (Rebuilt rather than XDELed: a replica that never had 4 and 5 has a stream whose last id is 3-1.)
    const kept = await admin.xrange(stream, '-', '3-1');
    await admin.del(stream);
    for (const [id, fields] of kept) await admin.xadd(stream, id, ...fields);
    await admin.hset(meta, 'top', 3);
    // Before the top passes the lost offsets: ahead.
    expect(await history.since('chan', p[5]!, 10)).toEqual({ ok: false, reason: 'ahead' });
    // Two new messages get offsets 4 and 5 again, with other tags.
    const again = [await history.append('chan', 'n4'), await history.append('chan', 'n5')];
    expect(again.map((x) => x.offset)).toEqual([4, 5]);
    expect(again[1]!.epoch).toBe(p[5]!.epoch);
    // A reader who had m4 or m5 (lost) is refused: it never received n4 and n5, and is not told it did.
    expect(await history.since('chan', p[5]!, 10)).toEqual({ ok: false, reason: 'epoch' });
    expect(await history.since('chan', p[4]!, 10)).toEqual({ ok: false, reason: 'epoch' });
    // A reader who stood on m3 (kept) gets exactly the new messages.
    expect(await history.since('chan', p[3]!, 10)).toEqual({
      ok: true,
      items: [
        { offset: 4, tag: again[0]!.tag, payload: 'n4' },
        { offset: 5, tag: again[1]!.tag, payload: 'n5' },
      ],
      position: again[1],
    });
  });

  it('moves the expiry of both keys on with every append', async () => {
    const { url, admin } = await privateRedis();
    const prefix = uniqueKeyPrefix('history-ttl');
    const windowMs = 60_000;
    const history = historyOn(url, prefix, { windowMs });
    const { meta, stream } = historyKeys(prefix).topic('chan');
    await history.append('chan', 'a');
    // Shorten both by hand, as time passing would; the next append gives back the whole window.
    await admin.pexpire(meta, 5000);
    await admin.pexpire(stream, 5000);
    await history.append('chan', 'b');
    for (const key of [meta, stream]) {
      expect(await admin.pttl(key)).toBeGreaterThan(5000);
      expect(await admin.pttl(key)).toBeLessThanOrEqual(windowMs);
    }
  });
});
