import { describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { registerTeardown, startRedisProcess, startTestRedis, uniqueKeyPrefix } from '@realtime/testing';
import { RunJournal, readRunLog, runKeys, takeLiveSession } from '../src/recovery/run-journal.js';
import { killedRunRecord, planReplay, type LiveSession } from '../src/recovery/session-record.js';

/**
 * A node run's journal in Redis (live sessions and delivery log), which a
 * survivor reads to recover the connections of a node killed without
 * warning. Real Redis; the multi-node kill is deploy/test/node-crash.test.ts.
 */
async function testRedisUrl(): Promise<string> {
  const redis = await startTestRedis();
  registerTeardown(() => redis.stop());
  return redis.url;
}

async function redisClient(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
  // Reconnection attempts after the Redis is stopped: expected here.
  redis.on('error', () => undefined);
  registerTeardown(() => redis.disconnect());
  await redis.connect();
  return redis;
}

function journalOn(redis: Redis, runId: string, errors: unknown[] = []): RunJournal {
  const journal = new RunJournal({
    redis,
    keyPrefix: uniqueKeyPrefix('journal'),
    runId,
    retainMs: 30_000,
    keepMs: 120_000,
    onError: (err) => errors.push(err),
  });
  registerTeardown(() => journal.close());
  return journal;
}

const position = (offset: number) => ({ offset, epoch: 'e1', tag: `t${offset}` });

const live = (topics: LiveSession['topics']): LiveSession => ({ v: 1, sid: 'sid-1', userId: null, identity: {}, node: 'node-1', topics });

describe('run journal', () => {
  it('a delivery waits for the write that holds its sequence number: once it runs, a survivor can read where it stood', async () => {
    const redis = await redisClient(await testRedisUrl());
    const journal = journalOn(redis, 'run-a');
    const readAtDelivery: number[] = [];
    for (let q = 1; q <= 5; q++) {
      journal.record(q, 'chan', position(q));
      journal.afterWrite(q, () => {
        // Checked synchronously when the delivery would go out.
        void readRunLog(redis, journal.keys).then((log) => readAtDelivery.push(log.throughQ >= q ? q : -q));
      });
    }
    journal.record(6, undefined, undefined);
    let ranEarly = false;
    journal.afterWrite(6, () => (ranEarly = true));
    // Nothing runs in the turn that recorded it: the write goes out at the end of the turn.
    expect(ranEarly).toBe(false);
    await vi.waitFor(() => expect(readAtDelivery).toHaveLength(5));
    expect(readAtDelivery).toEqual([1, 2, 3, 4, 5]);
    const log = await readRunLog(redis, journal.keys);
    expect([log.floorQ, log.throughQ]).toEqual([1, 6]);
    expect(log.entries.get('chan')?.map((d) => d.q)).toEqual([1, 2, 3, 4, 5]);
    expect(log.last.get('chan')).toEqual({ q: 5, position: position(5) });
  });

  it('Redis down: deliveries still go out (never held by a failed write), and the failure is reported', async () => {
    const server = await startRedisProcess();
    registerTeardown(() => server.stop());
    const redis = await redisClient(server.url);
    const errors: unknown[] = [];
    const journal = journalOn(redis, 'run-b', errors);
    await server.kill();
    await vi.waitFor(() => expect(redis.status).not.toBe('ready'));
    let delivered = false;
    journal.record(1, 'chan', position(1));
    journal.afterWrite(1, () => (delivered = true));
    await vi.waitFor(() => expect(delivered).toBe(true));
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a live session is taken once, however many survivors ask at the same time', async () => {
    const redis = await redisClient(await testRedisUrl());
    const journal = journalOn(redis, 'run-c');
    const record = live([{ topic: 'chan', joinedAt: 't', fromQ: 0, sent: [] }]);
    journal.session('pid-1', record);
    journal.record(1, 'chan', position(1));
    await new Promise<void>((resolve) => journal.afterWrite(1, resolve));
    const takers = await Promise.all(Array.from({ length: 5 }, () => takeLiveSession(redis, journal.keys, 'pid-1')));
    expect(takers.filter((t) => t !== undefined)).toEqual([record]);
    // An ended session is gone.
    journal.session('pid-2', record);
    journal.session('pid-2', undefined);
    journal.record(2, 'chan', position(2));
    await new Promise<void>((resolve) => journal.afterWrite(2, resolve));
    expect(await takeLiveSession(redis, journal.keys, 'pid-2')).toBeUndefined();
    expect(runKeys('p:', 'run-c').sessions).toBe('p:{r:run-c}:s');
  });
});

describe('placing a connection of a killed run', () => {
  const log = (entries: [number, number][], floorQ = 1, throughQ = entries.at(-1)?.[0] ?? 0) => ({
    floorQ,
    throughQ,
    entries: new Map([['chan', entries.map(([q, offset]) => ({ q, position: position(offset) }))]]),
    last: new Map(entries.length === 0 ? [] : [['chan', { q: entries.at(-1)![0], position: position(entries.at(-1)![1]) }]]),
  });

  it('replays after the last delivery its offset covers, or from its join', () => {
    const session = live([{ topic: 'chan', joinedAt: 't', fromQ: 2, base: [2, 10, 'e1', 't10'], sent: [] }]);
    const journal = log([
      [1, 9],
      [2, 10],
      [4, 11],
      [7, 12],
    ]);
    const at = (q: number) => {
      const record = killedRunRecord(session, 'run', journal, q);
      const plan = record === undefined ? undefined : planReplay(record, q);
      return plan?.ok === true ? plan.starts[0]!.from.offset : plan;
    };
    expect(at(5)).toBe(11);
    expect(at(7)).toBe(12);
    // Nothing of the topic since its join reached it: from the join.
    expect(at(3)).toBe(10);
  });

  it('a long replay left out of the live record: offsets within it are refused, later ones placed after its end', () => {
    const session = live([{ topic: 'chan', joinedAt: 't', fromQ: 20, base: [19, 8, 'e1', 't8'], sent: [], sentOmittedBeforeQ: 19 }]);
    const journal = log([[25, 9]]);
    expect(killedRunRecord(session, 'run', journal, 15)).toBeUndefined();
    const record = killedRunRecord(session, 'run', journal, 21)!;
    const plan = planReplay(record, 21);
    expect(plan.ok && plan.starts[0]!.from.offset).toBe(8);
  });

  it('refuses an offset past what the journal stored (the last turn before the kill), never guessing', () => {
    const session = live([{ topic: 'chan', joinedAt: 't', fromQ: 0, sent: [] }]);
    expect(
      killedRunRecord(
        session,
        'run',
        log([
          [1, 1],
          [2, 2],
        ]),
        3,
      ),
    ).toBeUndefined();
  });

  it('refuses where the position fell in what the journal trimmed, and places a delivery certainly received', () => {
    const session = live([{ topic: 'chan', joinedAt: 't', fromQ: 1, sent: [] }]);
    // Kept from q 50 on: the join (q 1) is older.
    expect(killedRunRecord(session, 'run', log([[60, 30]], 50, 70), 55)).toBeUndefined();
    expect(killedRunRecord(session, 'run', log([[60, 30]], 50, 70), 65)?.topics[0]?.sent.map((d) => d[0])).toEqual([60]);
    // Its topic's last delivery is older than the journal: placed only if the offset covers it.
    const older = { floorQ: 50, throughQ: 70, entries: new Map(), last: new Map([['chan', { q: 10, position: position(5) }]]) };
    expect(killedRunRecord(session, 'run', older, 9)).toBeUndefined();
    expect(killedRunRecord(session, 'run', older, 60)?.topics[0]?.received).toEqual([10, 5, 'e1', 't5']);
  });
});
