import { describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import type { RelayedEnvelope } from '@realtime/protocol';
import {
  connectClient,
  emitWithAck,
  guideEnvelope,
  nextEvent,
  registerTeardown,
  startCluster,
  startRedisProcess,
  startRedisCluster,
  startRedisSentinelSet,
  startServerProcess,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { expectCounts, join, member, type Member } from './support/cluster-clients.js';

/** Each test owns its Redis process (it may kill it) and its three nodes. */
async function cluster(env: Record<string, string> = {}) {
  const redis = await startRedisProcess();
  registerTeardown(() => redis.stop());
  const keyPrefix = uniqueKeyPrefix('faults');
  const nodes = await startCluster(3, { redisUrl: redis.url, keyPrefix, env });
  return { redis, nodes, keyPrefix };
}

/** Three nodes on a Sentinel set (the set is torn down with the test). */
async function sentinelCluster(env: Record<string, string> = {}): Promise<ServerProcess[]> {
  const set = await startRedisSentinelSet();
  return startCluster(3, {
    keyPrefix: uniqueKeyPrefix('faults'),
    env: { REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_MASTER: set.masterName, ...env },
  });
}

/** Three nodes on a Redis Cluster of 3 masters + 3 replicas (torn down with the test). */
async function redisClusterNodes(env: Record<string, string> = {}): Promise<ServerProcess[]> {
  const redis = await startRedisCluster();
  return startCluster(3, {
    keyPrefix: uniqueKeyPrefix('faults'),
    env: { REDIS_CLUSTER_NODES: redis.seeds.map((s) => `${s.host}:${s.port}`).join(','), ...env },
  });
}

/** Two members on each node, in channel `c` and room `c/r`. */
async function populate(nodes: readonly ServerProcess[]): Promise<Member[][]> {
  const perNode = await Promise.all(
    nodes.map(async (node) => [member(await connectClient(node.url)), member(await connectClient(node.url))]),
  );
  for (const members of perNode) {
    for (const m of members) {
      await join(m, 'c');
      await join(m, 'c', 'r');
    }
  }
  await expectCounts(perNode.flat(), 'c', 6);
  return perNode;
}

async function readyz(node: ServerProcess): Promise<number> {
  return (await fetch(`${node.url}/readyz`)).status;
}

/** Leave events each member receives, from now on. */
function recordLeaves(members: readonly Member[]): RelayedEnvelope[][] {
  return members.map((m) => {
    const seen: RelayedEnvelope[] = [];
    m.socket.on('leave-channel', (e: RelayedEnvelope) => seen.push(e));
    m.socket.on('leave-room', (e: RelayedEnvelope) => seen.push(e));
    return seen;
  });
}

describe('liveness tells a stall of Redis from a death', () => {
  // Short liveness so the test is quick: TTL 2 s, heartbeat every 0.5 s.
  const FAST = { NODE_TTL_MS: '2000', HEARTBEAT_INTERVAL_MS: '500' };

  it('Redis paused (SIGSTOP) for 7 s, over three node TTLs, then resumed: nobody is announced as leaving, counts stay exact', async () => {
    const { redis, nodes } = await cluster(FAST);
    const members = (await populate(nodes)).flat();
    const leaves = recordLeaves(members);
    // Longer than the TTL and than a command's 5 s timeout: the nodes' calls fail and they
    // come back one after another, as after a real stall (the case that used to reap live nodes).
    redis.pause();
    await new Promise((resolve) => setTimeout(resolve, 7000));
    // Node 1 gets to Redis first: nodes 2 and 3 are held for 1 s (half a TTL) as Redis resumes.
    // Node 1 then finds their liveness expired, which says nothing about them: Redis could not see them.
    nodes[1]!.signal('SIGSTOP');
    nodes[2]!.signal('SIGSTOP');
    redis.resume();
    const resumedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    nodes[1]!.signal('SIGCONT');
    nodes[2]!.signal('SIGCONT');
    // Every node heartbeats again and rewrites its expired liveness; a full TTL and more passes.
    await vi.waitFor(async () => expect((await Promise.all(nodes.map(readyz))).every((s) => s === 200)).toBe(true), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 + 3 * 500 + 500 - (performance.now() - resumedAt))));
    // A marker through every node: anything announced before it has arrived.
    const late = member(await connectClient(nodes[0]!.url));
    expect(await join(late, 'c')).toBe(7);
    await expectCounts([...members, late], 'c', 7);
    expect(leaves.map((l) => l.length)).toEqual(members.map(() => 0));
    const reaps = nodes.flatMap((n) => n.logs.filter((l) => l.msg === 'reaped memberships of dead nodes'));
    expect(reaps).toEqual([]);
  });

  it('a node restarted under the same NODE_ID before its TTL ran out: the old process’s members stay counted for the grace, then leave, once, with exact counts', async () => {
    const env = { ...FAST, PRESENCE_GRACE_MS: '3000' };
    const { redis, nodes, keyPrefix } = await cluster(env);
    const [on1, on2, on3] = await populate(nodes);
    const survivors = [...on1!, ...on2!];
    const goneIds = on3!.map((m) => m.socket.id);
    const leaves = recordLeaves(survivors);
    const dying = nodes[2]!;
    const killedAt = performance.now();
    dying.signal('SIGKILL');
    await dying.exited;
    // At once, well within the TTL, as Kubernetes restarts a container in the same pod.
    const successor = await startServerProcess({ nodeId: dying.nodeId, redisUrl: redis.url, keyPrefix, env });
    // The successor serves at once, and the old process's members are still counted beside its own new one.
    const fresh = member(await connectClient(successor.url));
    expect(await join(fresh, 'c')).toBe(7);
    await expectCounts(survivors, 'c', 7, 10_000);
    // Not before the grace, counted from the successor's start (after the kill).
    await expectCounts(survivors, 'c', 5, 15_000);
    expect(performance.now() - killedAt).toBeGreaterThanOrEqual(3000);
    await expectCounts(survivors, 'c', 4, 10_000, 'r');
    await vi.waitFor(() =>
      leaves.forEach((seen) =>
        expect(seen.map((e) => `${e.data.roomId === null ? 'channel' : 'room'}:${e.clientId}`).sort()).toEqual(
          [...goneIds.map((id) => `channel:${id}`), ...goneIds.map((id) => `room:${id}`)].sort(),
        ),
      ),
    );
    // The successor's own member stays, counted with the survivors.
    const late = member(await connectClient(successor.url));
    expect(await join(late, 'c')).toBe(6);
  });
});

describe('cluster faults', () => {
  it.each(['standalone', 'sentinel', 'cluster'] as const)(
    '%s Redis: a node killed with SIGKILL: its members stay counted for PRESENCE_GRACE_MS, then survivors get leave-* for them and exact counts',
    async (topology) => {
      // Short liveness (TTL 2 s, heartbeat 0.5 s) and grace (3 s), so the test is quick and the two are told apart.
      const env = { NODE_TTL_MS: '2000', HEARTBEAT_INTERVAL_MS: '500', PRESENCE_GRACE_MS: '3000' };
      const nodes =
        topology === 'standalone'
          ? (await cluster(env)).nodes
          : topology === 'sentinel'
            ? await sentinelCluster(env)
            : await redisClusterNodes(env);
      const [, , dying] = nodes as [ServerProcess, ServerProcess, ServerProcess];
      const [on1, on2, on3] = await populate(nodes);
      const survivors = [...on1!, ...on2!];
      const deadIds = on3!.map((m) => m.socket.id);
      const leaves = survivors.map((m) => {
        const seen: string[] = [];
        m.socket.on('leave-channel', (e: RelayedEnvelope) => seen.push(e.clientId));
        return seen;
      });
      const roomLeaves = survivors.map((m) => nextEvent<RelayedEnvelope>(m.socket, 'leave-room', () => true, 15_000));

      const firstLeave = Promise.race(
        survivors.map((m) => nextEvent(m.socket, 'leave-channel', () => true, 15_000).then(() => Date.now())),
      );
      const killedAt = Date.now();
      dying.signal('SIGKILL');
      await dying.exited;
      await expectCounts(survivors, 'c', 4, 10_000);
      await expectCounts(survivors, 'c', 4, 10_000, 'r');
      // Not before its last heartbeat (at most 0.5 s before the kill) + TTL + grace; well within TTL + grace + a few heartbeats.
      expect((await firstLeave) - killedAt).toBeGreaterThanOrEqual(2000 + 3000 - 500);
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      await vi.waitFor(() => leaves.forEach((seen) => expect([...seen].sort()).toEqual([...deadIds].sort())));
      for (const e of await Promise.all(roomLeaves)) expect(deadIds).toContain(e.clientId);
      // The reap ran once: one survivor logged it, and nobody else announced a second round.
      // Log lines come through a pipe, the events through a socket: the line may arrive after the events.
      const reapLogsNow = () => nodes.slice(0, 2).flatMap((n) => n.logs.filter((l) => l.msg === 'reaped memberships of dead nodes'));
      await vi.waitFor(() => expect(reapLogsNow().length).toBeGreaterThan(0), { timeout: 5_000, interval: 20 });
      const reapLogs = reapLogsNow();
      expect(reapLogs).toHaveLength(1);
      expect(reapLogs[0]).toMatchObject({ deadNodes: [dying.nodeId], memberships: 4 });
    },
  );

  it('Redis restarted empty: local delivery goes on during the outage; broadcast and exact counts come back', async () => {
    const { redis, nodes, keyPrefix } = await cluster();
    const [on1, on2, on3] = await populate(nodes);
    const [a, b] = on1 as [Member, Member];
    // A big last message: the identity kept for a's memberships must not include it.
    await emitWithAck(a.socket, 'c', guideEnvelope({ roomChannel: 'c', message: 'x'.repeat(60_000) }, a.socket));

    await redis.kill();
    // Local delivery between two members of node 1 keeps working.
    const local = nextEvent<RelayedEnvelope>(b.socket, 'c', (e) => e.data.message === 'during outage');
    expect(await emitWithAck(a.socket, 'c', guideEnvelope({ roomChannel: 'c', message: 'during outage' }, a.socket))).toEqual({ ok: true });
    await local;
    await vi.waitFor(async () => expect(await readyz(nodes[0]!)).toBe(503));
    // A member leaves and another joins while Redis is down: their nodes can't tell anyone yet.
    on3![1]!.socket.disconnect();
    const joinedDuringOutage = member(await connectClient(nodes[1]!.url));
    // The join succeeds locally; the ack has no cluster count to give.
    expect(await join(joinedDuringOutage, 'c')).toBeUndefined();

    await redis.start();
    const back = Date.now();
    await vi.waitFor(async () => expect(await Promise.all(nodes.map(readyz))).toEqual([200, 200, 200]), { timeout: 10_000, interval: 100 });
    const everyone = [...on1!, ...on2!, on3![0]!];
    await expectCounts([...everyone, joinedDuringOutage], 'c', 6, 10_000);
    await expectCounts(everyone, 'c', 5, 10_000, 'r');
    expect(Date.now() - back).toBeLessThan(10_000);

    const remote = on3![0]!;
    const crossNode = nextEvent<RelayedEnvelope>(remote.socket, 'c', (e) => e.data.message === 'after restart');
    await emitWithAck(a.socket, 'c', guideEnvelope({ roomChannel: 'c', message: 'after restart' }, a.socket));
    expect((await crossNode).clientId).toBe(a.socket.id);
    // The rewritten memberships carry identity (time, source), never a payload.
    const admin = new Redis(redis.url);
    registerTeardown(() => admin.disconnect());
    const memberKeys = await admin.keys(`${keyPrefix}{t:*}:m`);
    expect(memberKeys.length).toBeGreaterThan(0);
    for (const key of memberKeys) {
      for (const value of Object.values(await admin.hgetall(key))) {
        // `<restore generation>\x1f<user byte length>\x1f<user><meta>`: these members are anonymous (user '').
        const [, userLength, meta = ''] = value.split('\u001f');
        expect(userLength).toBe('0');
        expect(meta.length).toBeLessThan(1000);
        expect(JSON.parse(meta)).toHaveProperty('source.userName', 'Test User');
      }
    }
    // A join now reads the rebuilt count.
    const newcomer = member(await connectClient(nodes[1]!.url));
    expect(await join(newcomer, 'c')).toBe(7);
  });

  it('SIGTERM drains a node: clients reconnect-able, exit 0 within 10 s; members that do not come back stay counted for the grace, then leave once', async () => {
    const { nodes } = await cluster({ PRESENCE_GRACE_MS: '3000' });
    const [, , draining] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const [on1, on2, on3] = await populate(nodes);
    const survivors = [...on1!, ...on2!];
    const goneIds = on3!.map((m) => m.socket.id);
    const leaves = recordLeaves(survivors);
    const reasons = on3!.map((m) => new Promise<string>((resolve) => m.socket.once('disconnect', resolve)));

    const sentAt = Date.now();
    draining.signal('SIGTERM');
    // "transport close" is what makes socket.io-client reconnect (a server-side disconnect would not).
    expect(await Promise.all(reasons)).toEqual(['transport close', 'transport close']);
    const { code } = await draining.exited;
    expect(code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    // Drained, gone, and still counted: they could be recovered on a survivor within the grace.
    expect(await join(member(await connectClient(nodes[0]!.url)), 'c')).toBe(7);
    expect(leaves.flat()).toEqual([]);
    // They never came back (reconnection off): a survivor reaps them once the grace has passed, announced once.
    await expectCounts(survivors, 'c', 5, 10_000);
    await expectCounts(survivors, 'c', 4, 10_000, 'r');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3000);
    await vi.waitFor(() =>
      leaves.forEach((seen) =>
        expect(seen.map((e) => `${e.data.roomId === null ? 'channel' : 'room'}:${e.clientId}`).sort()).toEqual(
          [...goneIds.map((id) => `channel:${id}`), ...goneIds.map((id) => `room:${id}`)].sort(),
        ),
      ),
    );
  });
});
