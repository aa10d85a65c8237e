import { describe, expect, it, vi } from 'vitest';
import { InvalidCursorError, type PresenceStore, type TopicCount } from '../src/index.js';

/** What a contract run needs from an implementation. */
export interface PresenceFixture {
  /** A store for `nodeId`, subscribed and registered (restored empty), closed after the test. */
  store(nodeId: string, options?: { nodeTtlMs?: number; memberGraceMs?: number }): Promise<PresenceStore>;
  /** The backing state loses everything, as Redis restarting without persistence does. */
  wipe(): Promise<void>;
}

/** Collects what a store's `onCounts` delivers. */
function recordCounts(store: PresenceStore): TopicCount[] {
  const seen: TopicCount[] = [];
  store.onCounts((counts) => seen.push(...counts));
  return seen;
}

/** What one reap removed. */
type Reaped = Awaited<ReturnType<PresenceStore['reapDeadNodes']>>;

/**
 * Runs a survivor's presence loop (heartbeat, then reap, as a node does) until
 * a reap removes someone, and returns that reap. `afterEmptyReap` runs after
 * each reap that removed nobody.
 */
async function reapUntilRemoved(survivor: PresenceStore, timeoutMs: number, afterEmptyReap?: () => Promise<void>): Promise<Reaped> {
  let reaped: Reaped | undefined;
  await vi.waitFor(
    async () => {
      expect(await survivor.heartbeat()).toBe('alive');
      const result = await survivor.reapDeadNodes();
      if (result.removed.length > 0) reaped = result;
      else await afterEmptyReap?.();
      expect(reaped).toBeDefined();
    },
    { timeout: timeoutMs, interval: 50 },
  );
  if (reaped === undefined) throw new Error('unreachable: waitFor returned without a reap');
  return reaped;
}

/**
 * The behaviour every PresenceStore must have. Each test gets a fresh
 * fixture from `setup` (which registers its own teardown).
 */
export function describePresenceStore(name: string, setup: () => Promise<PresenceFixture>): void {
  describe(`PresenceStore contract: ${name}`, () => {
    it('counts a connection once however often it joins', async () => {
      const node = await (await setup()).store('node-a');
      const first = await node.add('chan', 'c1', '{}');
      const again = await node.add('chan', 'c1', '{}');
      expect(first).toMatchObject({ topic: 'chan', count: 1, changed: true });
      expect(again).toMatchObject({ count: 1, changed: false, version: first.version });
      expect(await node.count('chan')).toEqual({ topic: 'chan', count: 1, version: first.version });
      expect((await node.count('elsewhere')).count).toBe(0);
    });

    it('counts connections of every node, and the same connection id on two nodes twice', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{}');
      await b.add('chan', 'c1', '{}');
      const third = await b.add('chan', 'c2', '{}');
      expect(third.count).toBe(3);
      expect((await a.count('chan')).count).toBe(3);
    });

    it('removes, refuses nothing on a second remove, and keeps topics apart', async () => {
      const node = await (await setup()).store('node-a');
      await node.add('chan', 'c1', '{}');
      await node.add('chan', 'c2', '{}');
      await node.add('r\u001fchan\u001froom', 'c1', '{}');
      const removed = await node.remove('chan', 'c1');
      expect(removed).toMatchObject({ count: 1, changed: true });
      expect(await node.remove('chan', 'c1')).toMatchObject({ count: 1, changed: false, version: removed.version });
      expect((await node.count('r\u001fchan\u001froom')).count).toBe(1);
    });

    it('removes a connection from many topics at once, reporting each', async () => {
      const node = await (await setup()).store('node-a');
      await node.add('t1', 'c1', '{}');
      await node.add('t2', 'c1', '{}');
      await node.add('t2', 'c2', '{}');
      const changes = await node.removeMany('c1', ['t1', 't2', 't3']);
      expect(changes.map((c) => [c.topic, c.count, c.changed])).toEqual([
        ['t1', 0, true],
        ['t2', 1, true],
        ['t3', 0, false],
      ]);
    });

    it('applies joins and leaves made without waiting in the order they were made', async () => {
      const node = await (await setup()).store('node-a');
      const [single, many] = await Promise.all([
        Promise.all([
          node.add('chan', 'c1', '{}'),
          node.remove('chan', 'c1'),
          node.add('chan', 'c1', '{}'),
          node.add('chan', 'c2', '{}'),
          node.remove('chan', 'c3'),
        ]),
        node.removeMany('c2', ['chan', 'other']),
      ]);
      expect([...single, ...many].map((c) => c.changed)).toEqual([true, true, true, true, false, true, false]);
      expect((await node.count('chan')).count).toBe(1);
    });

    it('many joins at once all land and the last count announced is the total', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      const seenByB = recordCounts(b);
      await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).add('crowd', `c${i}`, '{}')));
      expect((await a.count('crowd')).count).toBe(200);
      await vi.waitFor(() => expect(seenByB.filter((c) => c.topic === 'crowd').at(-1)?.count).toBe(200));
    });

    it('gives every change of a topic a larger version, whichever node makes it', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      const versions = [
        (await a.add('chan', 'c1', '{}')).version,
        (await b.add('chan', 'c2', '{}')).version,
        (await a.remove('chan', 'c1')).version,
        (await b.add('chan', 'c3', '{}')).version,
      ];
      expect([...versions].sort((x, y) => x - y)).toEqual(versions);
      expect(new Set(versions).size).toBe(4);
    });

    it("announces every node's changes to every node with members in the topic, in version order", async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      const seenByB = recordCounts(b);
      await b.add('chan', 'c3', '{}');
      await a.add('chan', 'c1', '{}');
      await a.add('chan', 'c2', '{}');
      const last = await a.remove('chan', 'c1');
      await vi.waitFor(() => expect(seenByB.at(-1)).toEqual({ topic: 'chan', count: 2, version: last.version }));
      expect(seenByB.map((c) => c.count)).toEqual([1, 2, 3, 2]);
      const versions = seenByB.map((c) => c.version);
      expect([...versions].sort((x, y) => x - y)).toEqual(versions);
    });

    it('announces nothing for a join or leave that changes nothing', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const seen = recordCounts(a);
      await a.add('chan', 'c1', '{}');
      await a.add('chan', 'c1', '{}');
      await a.remove('chan', 'nobody');
      const marker = await a.add('marker', 'c1', '{}');
      await vi.waitFor(() => expect(seen.at(-1)?.version).toBe(marker.version));
      expect(seen.map((c) => c.topic)).toEqual(['chan', 'marker']);
    });

    it('knows a node is lost after the state is wiped, and restore brings its memberships back with newer versions', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      const before = await a.add('chan', 'c1', '{"n":1}');
      await b.add('chan', 'c2', '{}');
      expect(await a.heartbeat()).toBe('alive');
      await fixture.wipe();
      expect(await a.heartbeat()).toBe('lost');
      expect((await a.count('chan')).count).toBe(0);
      const seen = recordCounts(b);
      await a.restore([{ topic: 'chan', connectionId: 'c1', meta: '{"n":1}' }]);
      await b.restore([{ topic: 'chan', connectionId: 'c2', meta: '{}' }]);
      expect(await a.heartbeat()).toBe('alive');
      const after = await a.count('chan');
      expect(after.count).toBe(2);
      expect(after.version).toBeGreaterThan(before.version);
      await vi.waitFor(() => expect(seen.at(-1)).toEqual(after));
    });

    it('restore makes the store match the snapshot: adds what is missing, drops what is gone', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      await a.add('t1', 'c1', '{}');
      await a.add('t2', 'c1', '{}');
      await a.restore([
        { topic: 't2', connectionId: 'c1', meta: '{}' },
        { topic: 't3', connectionId: 'c2', meta: '{}' },
      ]);
      expect([(await a.count('t1')).count, (await a.count('t2')).count, (await a.count('t3')).count]).toEqual([0, 1, 1]);
      // The dropped membership is really gone: a later deregister does not report it.
      const counts = await a.deregister();
      expect(counts.map((c) => [c.topic, c.count]).sort()).toEqual([
        ['t2', 0],
        ['t3', 0],
      ]);
    });

    it('restores a snapshot larger than one script call', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const snapshot = Array.from({ length: 2500 }, (_, i) => ({ topic: `t${i % 7}`, connectionId: `c${i}`, meta: '{}' }));
      await a.restore(snapshot);
      let total = 0;
      for (let t = 0; t < 7; t++) total += (await a.count(`t${t}`)).count;
      expect(total).toBe(2500);
    });

    it('reaps a node whose heartbeat stopped, once, handing back its memberships', async () => {
      const fixture = await setup();
      const dying = await fixture.store('node-dying', { nodeTtlMs: 300 });
      const survivor = await fixture.store('node-survivor', { nodeTtlMs: 300 });
      const other = await fixture.store('node-other');
      await dying.add('chan', 'c1', '{"who":"c1"}');
      await dying.add('r\u001fchan\u001froom', 'c1', '{"who":"c1"}');
      await survivor.add('chan', 'c9', '{}');
      expect((await survivor.reapDeadNodes()).removed).toEqual([]);

      const reaped = await reapUntilRemoved(survivor, 5000);
      expect(reaped.removed.map((m) => [m.nodeId, m.connectionId, m.topic, m.meta]).sort()).toEqual([
        ['node-dying', 'c1', 'chan', '{"who":"c1"}'],
        ['node-dying', 'c1', 'r\u001fchan\u001froom', '{"who":"c1"}'],
      ]);
      expect(reaped.counts.map((c) => [c.topic, c.count]).sort()).toEqual([
        ['chan', 1],
        ['r\u001fchan\u001froom', 0],
      ]);
      expect((await other.reapDeadNodes()).removed).toEqual([]);
      expect((await survivor.count('chan')).count).toBe(1);
      expect(await dying.heartbeat()).toBe('lost');
    });

    it('reaps nobody until the store has seen heartbeats for a whole TTL: a pause of Redis itself is not a death', async () => {
      const fixture = await setup();
      const quiet = await fixture.store('node-quiet', { nodeTtlMs: 300 });
      const reaper = await fixture.store('node-reaper', { nodeTtlMs: 300 });
      await quiet.add('chan', 'q1', '{}');
      // Nobody heartbeats for longer than the TTL (as when Redis is paused): every liveness key expires.
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await reaper.heartbeat()).toBe('lost');
      await reaper.restore([]);
      // Within a TTL of the first heartbeat after the gap, the quiet node has its chance: nothing is reaped.
      expect((await reaper.reapDeadNodes()).removed).toEqual([]);
      expect(await quiet.heartbeat()).toBe('lost');
      await quiet.restore([{ topic: 'chan', connectionId: 'q1', meta: '{}' }]);
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await reaper.heartbeat()).toBe('alive');
        expect(await quiet.heartbeat()).toBe('alive');
        expect((await reaper.reapDeadNodes()).removed).toEqual([]);
      }
      expect((await reaper.count('chan')).count).toBe(1);
    });

    it('lists a topic page by page: never more than the limit, every member once, with its meta', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? a : b).add('big', `c${i}`, `{"i":${i}}`)));
      await a.add('small', 'only', '{"i":-1}');
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await b.members('big', 37, cursor);
        expect(page.items.length).toBeLessThanOrEqual(37);
        for (const m of page.items) {
          expect(m.meta).toBe(`{"i":${m.connectionId.slice(1)}}`);
          expect(m.nodeId).toBe(Number(m.connectionId.slice(1)) % 2 === 0 ? 'node-a' : 'node-b');
          seen.push(m.connectionId);
        }
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 200);
      expect(seen.length).toBe(1000);
      expect(new Set(seen).size).toBe(1000);
      expect(pages).toBeGreaterThanOrEqual(28);
      expect(await a.members('small', 100)).toEqual({
        items: [{ nodeId: 'node-a', connectionId: 'only', meta: '{"i":-1}' }],
        nextCursor: null,
      });
      expect(await a.members('nobody', 100)).toEqual({ items: [], nextCursor: null });
      await expect(a.members('big', 10, 'not-a-cursor!')).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('lists the topics with members under a literal prefix, page by page, with their counts', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      await Promise.all(Array.from({ length: 120 }, (_, i) => a.add(`c\u001fchat-${i}`, 'c1', '{}')));
      await a.add('c\u001fchat-7', 'c2', '{}');
      await a.add('c\u001fother', 'c1', '{}');
      await a.add('c\u001fchat-gone', 'c1', '{}');
      await a.remove('c\u001fchat-gone', 'c1');
      await a.add('c\u001fa*b', 'c1', '{}');
      await a.add('c\u001fa-b', 'c1', '{}');
      const listed = new Map<string, number>();
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await a.topics('c\u001fchat-', 25, cursor);
        expect(page.items.length).toBeLessThanOrEqual(25);
        // SCAN may name a key twice while Redis resizes its keyspace: a walk lists each topic at least once.
        for (const t of page.items) {
          if (listed.has(t.topic)) expect(listed.get(t.topic)).toBe(t.count);
          listed.set(t.topic, t.count);
        }
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 500);
      expect(listed.size).toBe(120);
      expect(listed.get('c\u001fchat-7')).toBe(2);
      expect(listed.get('c\u001fchat-0')).toBe(1);
      const glob = [];
      cursor = undefined;
      do {
        const page = await a.topics('c\u001fa*', 10, cursor);
        glob.push(...page.items.map((t) => t.topic));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect([...new Set(glob)]).toEqual(['c\u001fa*b']);
    });

    it('counts distinct users: a user with several connections on several nodes once', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{"n":1}', 'alice');
      await a.add('chan', 'c2', '{"n":2}', 'alice');
      await b.add('chan', 'c3', '{"n":3}', 'alice');
      // A sub may hold any character, the store's separator and non-ASCII ones included.
      await b.add('chan', 'c4', '{"n":4}', 'b\u001fø\u{1F600}b');
      const users = await a.users('chan');
      expect(users).toEqual({ topic: 'chan', count: 4, users: 2, version: (await a.count('chan')).version });
      expect(await b.users('nobody')).toMatchObject({ topic: 'nobody', count: 0, users: 0 });
      // Joining again changes nothing; another topic is counted apart.
      await a.add('chan', 'c1', '{"n":1}', 'alice');
      await a.add('other', 'c1', '{}', 'alice');
      expect(await b.users('chan')).toMatchObject({ count: 4, users: 2 });
      expect(await b.users('other')).toMatchObject({ count: 1, users: 1 });
      // The user is not part of the meta a listing hands back.
      const listed = (await a.members('chan', 100)).items.map((m) => [m.connectionId, m.meta]).sort();
      expect(listed).toEqual([
        ['c1', '{"n":1}'],
        ['c2', '{"n":2}'],
        ['c3', '{"n":3}'],
        ['c4', '{"n":4}'],
      ]);
    });

    it('keeps a user while one of its connections remains, and drops it with the last (leave, removeMany, batched)', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{}', 'alice');
      await b.add('chan', 'c2', '{}', 'alice');
      await a.add('chan', 'c3', '{}', 'bob');
      await a.remove('chan', 'c1');
      expect(await b.users('chan')).toMatchObject({ count: 2, users: 2 });
      await b.removeMany('c2', ['chan', 'elsewhere']);
      expect(await a.users('chan')).toMatchObject({ count: 1, users: 1 });
      // Joins and leaves made without waiting go out together: the refcount follows them in order.
      await Promise.all([
        a.add('chan', 'c4', '{}', 'carol'),
        a.remove('chan', 'c4'),
        a.add('chan', 'c4', '{}', 'carol'),
        a.add('chan', 'c5', '{}', 'carol'),
        a.remove('chan', 'c3'),
        a.remove('chan', 'c3'),
        a.remove('chan', 'nobody'),
      ]);
      expect(await b.users('chan')).toMatchObject({ count: 2, users: 1 });
      await Promise.all([a.remove('chan', 'c4'), a.remove('chan', 'c5')]);
      expect(await b.users('chan')).toMatchObject({ count: 0, users: 0 });
    });

    it('counts every anonymous connection as a user of its own', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('anon', 'c1', '{}');
      await a.add('anon', 'c2', '{}');
      await b.add('anon', 'c3', '{}');
      // Without authentication, users equals the connection count.
      expect(await a.users('anon')).toMatchObject({ count: 3, users: 3 });
      await a.add('anon', 'c4', '{}', 'alice');
      await b.add('anon', 'c5', '{}', 'alice');
      expect(await a.users('anon')).toMatchObject({ count: 5, users: 4 });
      await a.remove('anon', 'c1');
      await b.remove('anon', 'c3');
      expect(await b.users('anon')).toMatchObject({ count: 3, users: 2 });
      await a.remove('anon', 'c2');
      expect(await b.users('anon')).toMatchObject({ count: 2, users: 1 });
    });

    it("reaping a dead node removes its connections from the user counts, sparing the users' connections elsewhere", async () => {
      const fixture = await setup();
      const dying = await fixture.store('node-dying', { nodeTtlMs: 300 });
      const survivor = await fixture.store('node-survivor', { nodeTtlMs: 300 });
      await dying.add('chan', 'c1', '{}', 'alice');
      await dying.add('chan', 'c2', '{}', 'bob');
      await dying.add('chan', 'c3', '{}');
      await dying.add('chan', 'c4', '{}');
      await survivor.add('chan', 'c9', '{}', 'alice');
      expect(await survivor.users('chan')).toMatchObject({ count: 5, users: 4 });
      await vi.waitFor(
        async () => {
          expect(await survivor.heartbeat()).toBe('alive');
          await survivor.reapDeadNodes();
          expect((await survivor.count('chan')).count).toBe(1);
        },
        { timeout: 5000, interval: 50 },
      );
      expect(await survivor.users('chan')).toMatchObject({ count: 1, users: 1 });
    });

    it('restoring (a resync) counts each user once: rewrites, additions and drops', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{}', 'alice');
      await a.add('chan', 'c2', '{}', 'alice');
      await a.add('chan', 'c3', '{}');
      await b.add('chan', 'c9', '{}', 'bob');
      const snapshot = [
        { topic: 'chan', connectionId: 'c1', meta: '{}', userId: 'alice' },
        { topic: 'chan', connectionId: 'c2', meta: '{}', userId: 'alice' },
        { topic: 'chan', connectionId: 'c3', meta: '{}' },
      ];
      // The same snapshot twice (a resync with nothing lost) changes no count.
      await a.restore(snapshot);
      await a.restore(snapshot);
      expect(await b.users('chan')).toMatchObject({ count: 4, users: 3 });
      // A snapshot that lost c2 and gained c4 (dave) and an anonymous c5.
      await a.restore([
        snapshot[0]!,
        snapshot[2]!,
        { topic: 'chan', connectionId: 'c4', meta: '{}', userId: 'dave' },
        { topic: 'chan', connectionId: 'c5', meta: '{}' },
      ]);
      expect(await b.users('chan')).toMatchObject({ count: 5, users: 5 });
      // After the state was wiped, restores bring the users back, once.
      await fixture.wipe();
      expect(await a.users('chan')).toMatchObject({ count: 0, users: 0 });
      await a.restore([snapshot[0]!, snapshot[1]!]);
      await b.restore([{ topic: 'chan', connectionId: 'c9', meta: '{}', userId: 'bob' }]);
      await a.restore([snapshot[0]!, snapshot[1]!]);
      expect(await b.users('chan')).toMatchObject({ count: 3, users: 2 });
    });

    it("deregister removes this node's connections from the user counts", async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{}', 'alice');
      await a.add('chan', 'c2', '{}', 'bob');
      await a.add('chan', 'c3', '{}');
      await b.add('chan', 'c9', '{}', 'alice');
      await a.deregister();
      expect(await b.users('chan')).toMatchObject({ count: 1, users: 1 });
    });

    it('deregister removes only this node', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{}');
      await b.add('chan', 'c2', '{}');
      const counts = await a.deregister();
      expect(counts.map((c) => [c.topic, c.count])).toEqual([['chan', 1]]);
      expect(await a.heartbeat()).toBe('lost');
      expect(await b.heartbeat()).toBe('alive');
    });
    it('moves a connection to the node it was recovered on: count and users unchanged, nothing announced', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{"who":"c1"}', 'alice');
      const before = await a.add('chan', 'c2', '{}');
      const seen = recordCounts(b);
      const moved = await b.move('chan', 'c1', 'node-a', '{"who":"c1"}', 'alice');
      expect(moved).toMatchObject({ count: 2, changed: false, version: before.version });
      expect(await b.users('chan')).toMatchObject({ count: 2, users: 2 });
      const { items } = await b.members('chan', 10);
      expect(items.map((m) => [m.nodeId, m.connectionId, m.meta]).sort()).toEqual([
        ['node-a', 'c2', '{}'],
        ['node-b', 'c1', '{"who":"c1"}'],
      ]);
      // The old node's own removal, when its grace ends, finds nothing: no count change, no announcement.
      expect(await a.remove('chan', 'c1')).toMatchObject({ count: 2, changed: false });
      // A change after both: the only count b's subscription delivers is that one.
      await a.remove('chan', 'c2');
      await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ count: 1 }));
      expect(seen.map((c) => c.count)).toEqual([1]);
    });

    it('a move whose entry is gone adds the connection (a recovery after the grace), announced', async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      await a.add('chan', 'c1', '{}', 'alice');
      await a.remove('chan', 'c1');
      const moved = await b.move('chan', 'c1', 'node-a', '{}', 'alice');
      expect(moved).toMatchObject({ count: 1, changed: true });
      expect(await b.users('chan')).toMatchObject({ count: 1, users: 1 });
      // Back on its own node: a rewrite, nothing changes.
      expect(await b.move('chan', 'c1', 'node-b', '{}', 'alice')).toMatchObject({ count: 1, changed: false, version: moved.version });
    });

    it("release removes another node's connection, once, telling only the caller", async () => {
      const fixture = await setup();
      const a = await fixture.store('node-a');
      const b = await fixture.store('node-b');
      const c = await fixture.store('node-c');
      await a.add('t1', 'c1', '{}', 'alice');
      await a.add('t2', 'c1', '{}', 'alice');
      await a.add('t2', 'c2', '{}');
      const [first, second] = await Promise.all([b.release('c1', 'node-a', ['t1', 't2']), c.release('c1', 'node-a', ['t1', 't2'])]);
      expect(
        [...first, ...second]
          .filter((x) => x.changed)
          .map((x) => x.topic)
          .sort(),
      ).toEqual(['t1', 't2']);
      expect(await b.users('t2')).toMatchObject({ count: 1, users: 1 });
      expect((await a.removeMany('c1', ['t1', 't2'])).map((x) => x.changed)).toEqual([false, false]);
    });

    it("keeps a dead node's members for the grace before reaping them, and a member moved meanwhile is never reaped", async () => {
      const fixture = await setup();
      // A TTL that a loaded machine's slow loop iteration cannot outrun (the survivor must stay alive).
      const dying = await fixture.store('node-dying', { nodeTtlMs: 1000 });
      const survivor = await fixture.store('node-survivor', { nodeTtlMs: 1000, memberGraceMs: 1500 });
      await dying.add('chan', 'c1', '{}');
      await dying.add('chan', 'c2', '{}');
      const diedAt = performance.now();
      let moved = false;
      const reaped = await reapUntilRemoved(survivor, 8000, async () => {
        if (moved || performance.now() - diedAt <= 1200) return;
        // Past the TTL, within the grace: still counted; c1 comes back here.
        expect((await survivor.count('chan')).count).toBe(2);
        expect(await survivor.move('chan', 'c1', 'node-dying', '{}')).toMatchObject({ changed: false, count: 2 });
        moved = true;
      });
      expect(moved).toBe(true);
      expect(performance.now() - diedAt).toBeGreaterThanOrEqual(1500);
      expect(reaped.removed.map((m) => m.connectionId)).toEqual(['c2']);
      expect((await survivor.count('chan')).count).toBe(1);
    });

    it('tells how long a node has been silent, since its last heartbeat or forever when unregistered, and which process holds its id', async () => {
      const fixture = await setup();
      const quiet = await fixture.store('node-quiet', { nodeTtlMs: 300 });
      const asker = await fixture.store('node-asker', { nodeTtlMs: 300 });
      const leaving = await fixture.store('node-leaving', { nodeTtlMs: 300 });
      expect(await asker.nodeSilence('node-quiet')).toEqual({ ms: expect.any(Number), incarnation: quiet.incarnation });
      expect((await asker.nodeSilence('node-quiet')).ms).toBeLessThan(300);
      expect(await asker.nodeSilence('node-never')).toEqual({ ms: Number.POSITIVE_INFINITY, incarnation: undefined });
      await leaving.deregister();
      expect(await asker.nodeSilence('node-leaving')).toEqual({ ms: Number.POSITIVE_INFINITY, incarnation: undefined });
      await vi.waitFor(async () => expect((await asker.nodeSilence('node-quiet')).ms).toBeGreaterThan(300), {
        timeout: 5000,
        interval: 50,
      });
      expect(await quiet.heartbeat()).toBe('lost');
      await quiet.restore([]);
      expect((await asker.nodeSilence('node-quiet')).ms).toBeLessThan(300);
      // Another process under the same id (restarted in place) holds it from its first restore on.
      const successor = await fixture.store('node-quiet', { nodeTtlMs: 300 });
      expect(successor.incarnation).not.toBe(quiet.incarnation);
      expect((await asker.nodeSilence('node-quiet')).incarnation).toBe(successor.incarnation);
    });

    it("a process restarted under the same node id keeps its predecessor's members for the grace, then reaps, once, those not taken over", async () => {
      const fixture = await setup();
      // A TTL that a loaded machine's slow loop iteration cannot outrun (the successor must stay alive).
      const options = { nodeTtlMs: 1000, memberGraceMs: 1500 };
      const killed = await fixture.store('node-x', options);
      const other = await fixture.store('node-other', options);
      await killed.add('chan', 'gone', '{"who":"gone"}');
      await killed.add('chan', 'elsewhere', '{}');
      await killed.add('chan', 'back', '{}');
      const startedAt = performance.now();
      const successor = await fixture.store('node-x', options);
      // Still counted, and nothing reaped yet: by the successor, or by another node (node-x heartbeats).
      expect((await successor.count('chan')).count).toBe(3);
      expect((await successor.reapDeadNodes()).removed).toEqual([]);
      expect((await other.reapDeadNodes()).removed).toEqual([]);
      // Recovered meanwhile: on another node, and on the restarted one itself.
      expect(await other.move('chan', 'elsewhere', 'node-x', '{}')).toMatchObject({ changed: false, count: 3 });
      expect(await successor.move('chan', 'back', 'node-x', '{"who":"back"}')).toMatchObject({ changed: false, count: 3 });

      const reaped = await reapUntilRemoved(successor, 8000);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1500);
      expect(reaped.removed.map((m) => [m.nodeId, m.connectionId, m.topic, m.meta])).toEqual([
        ['node-x', 'gone', 'chan', '{"who":"gone"}'],
      ]);
      expect(reaped.counts.map((c) => [c.topic, c.count])).toEqual([['chan', 2]]);
      expect((await successor.reapDeadNodes()).removed).toEqual([]);
      expect((await other.count('chan')).count).toBe(2);
      const members = await other.members('chan', 10);
      expect(members.items.map((m) => [m.nodeId, m.connectionId]).sort()).toEqual([
        ['node-other', 'elsewhere'],
        ['node-x', 'back'],
      ]);
    });

    it("without a grace, a process restarted under the same node id removes its predecessor's members on its first restore", async () => {
      const fixture = await setup();
      const killed = await fixture.store('node-x');
      await killed.add('chan', 'gone', '{"who":"gone"}');
      // The fixture restores the successor, empty: the predecessor's member is gone at once.
      const successor = await fixture.store('node-x');
      expect((await successor.count('chan')).count).toBe(0);
      expect((await successor.users('chan')).users).toBe(0);
    });

    it('deregister keeps the members it is told to keep, and survivors reap them once the grace has passed', async () => {
      const fixture = await setup();
      const leaving = await fixture.store('node-leaving', { nodeTtlMs: 1000, memberGraceMs: 600 });
      const survivor = await fixture.store('node-survivor', { nodeTtlMs: 1000, memberGraceMs: 600 });
      await leaving.add('chan', 'gone', '{}');
      await leaving.add('chan', 'away', '{"who":"away"}');
      await leaving.add('chan', 'back', '{}');
      const at = performance.now();
      const counts = await leaving.deregister([
        { topic: 'chan', connectionId: 'away' },
        { topic: 'chan', connectionId: 'back' },
      ]);
      expect(counts.map((c) => [c.topic, c.count])).toEqual([['chan', 2]]);
      expect(await survivor.move('chan', 'back', 'node-leaving', '{}')).toMatchObject({ changed: false, count: 2 });
      const reaped = await reapUntilRemoved(survivor, 8000);
      expect(performance.now() - at).toBeGreaterThanOrEqual(600);
      expect(reaped.removed.map((m) => [m.connectionId, m.meta])).toEqual([['away', '{"who":"away"}']]);
      expect((await survivor.count('chan')).count).toBe(1);
      expect(await leaving.heartbeat()).toBe('lost');
    });
  });
}
