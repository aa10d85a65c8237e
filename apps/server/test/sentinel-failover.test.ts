import { describe, expect, it, vi } from 'vitest';
import type { RelayedEnvelope } from '@realtime/protocol';
import { connectClient, emitWithAck, nextEvent, record, startCluster, startRedisSentinelSet, uniqueKeyPrefix } from '@realtime/testing';
import { expectCounts, join, member } from './support/cluster-clients.js';
import { startLiveStream } from './support/live-stream.js';

/**
 * Redis Sentinel: `kill -9` of the master under live traffic. Three node
 * processes, one member on each, a publisher on node 1 sending 20 msg/s.
 * Cross-node delivery is at most once during the failover (publishes that
 * fail are dropped and counted), and must resume within 8 s of the kill;
 * nothing is delivered twice; nobody who never left is announced as leaving.
 */
/** A Sentinel set, three nodes on it, one member of `channel` on each (count 3 everywhere), their leave-* recorded from now on. */
async function sentinelRig(channel: string) {
  const set = await startRedisSentinelSet();
  const nodes = await startCluster(3, {
    keyPrefix: uniqueKeyPrefix('sentinel'),
    env: { REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_MASTER: set.masterName },
  });
  const members = await Promise.all(nodes.map(async (n) => member(await connectClient(n.url))));
  for (const m of members) await join(m, channel);
  await expectCounts(members, channel, 3);
  const leaves = members.map((m) => record<RelayedEnvelope>(m.socket, 'leave-channel'));
  return { set, nodes, members, leaves };
}

describe('Sentinel failover', () => {
  it('kill -9 of the master: delivery resumes within 8 s, nothing twice, no false leaves, counts exact within 15 s', async () => {
    const { set, nodes, members, leaves } = await sentinelRig('failover');
    const received = members.map((m) => record<RelayedEnvelope>(m.socket, 'failover'));
    const publisher = members[0]!.socket;

    let seq = 0;
    const sentAt = new Map<number, number>();
    const timer = setInterval(() => {
      seq += 1;
      sentAt.set(seq, performance.now());
      // As the guide sends: no ack.
      publisher.emit('failover', { data: { roomChannel: 'failover', message: String(seq), roomId: null } });
    }, 50);

    // Some traffic before the kill, so the failover interrupts a live stream.
    await vi.waitFor(() => expect(received[2]!.length).toBeGreaterThan(5), { timeout: 10_000 });
    // /readyz of node 2 through the failover, every 100 ms.
    const readiness: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        readiness.push((await fetch(`${nodes[1]!.url}/readyz`)).status);
        await new Promise<void>((resolve) => setTimeout(resolve, 100));
      }
    })();
    const killedAt = performance.now();
    const { promotedAfterMs } = await set.killMaster();

    // Resumed: a message sent after the kill has reached the members on the other nodes.
    const seqs = (m: number) => received[m]!.map((e) => Number(e.data.message));
    const crossNodeAfterKill = () =>
      [1, 2].every((m) => seqs(m).some((s) => (sentAt.get(s) ?? 0) > killedAt)) ? performance.now() - killedAt : undefined;
    let resumedAfterMs: number | undefined;
    const dump = () =>
      nodes
        .map((n) => `${n.nodeId}: ${JSON.stringify(n.logs.slice(-12).map((l) => [l.time, l.msg, l.connection ?? '', l.error ?? '']))}`)
        .join('\n');
    await vi
      .waitFor(
        () => {
          resumedAfterMs = crossNodeAfterKill();
          expect(resumedAfterMs).toBeDefined();
        },
        { timeout: 8_000, interval: 20 },
      )
      .catch(async (err: unknown) => {
        for (const n of nodes) process.stdout.write(`readyz ${n.nodeId}: ${await (await fetch(`${n.url}/readyz`)).text()}\n`);
        process.stdout.write(
          `no cross-node delivery after the failover; node logs:\n${dump()}\nreceived: ${received.map((r) => r.length).join(',')}\n`,
        );
        throw err;
      });
    // Settled: every node's connections are back (/readyz 200). Delivery during the failover is at
    // most once (a connection may come back and drop again while the sentinels converge); from
    // here on, nothing may be lost.
    await vi.waitFor(
      async () => expect(await Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/readyz`)).status))).toEqual([200, 200, 200]),
      {
        timeout: 15_000,
        interval: 50,
      },
    );
    const resumeSeq = seq;
    // Two more seconds of traffic after the resume, then stop and let the last ones land.
    await new Promise<void>((resolve) => setTimeout(resolve, 2000));
    clearInterval(timer);
    const last = seq;
    await vi.waitFor(() => expect(members.map((_, m) => seqs(m).includes(last))).toEqual([true, true, true]), { timeout: 10_000 });

    for (let m = 0; m < 3; m++) {
      const got = seqs(m);
      expect(new Set(got).size, `member ${m} got a message twice`).toBe(got.length);
      // Every message published after the nodes settled arrived.
      for (let s = resumeSeq + 1; s <= last; s++) expect(got, `member ${m} misses #${s}`).toContain(s);
    }

    // Counts still exact, and a join after the failover is counted everywhere.
    const late = member(await connectClient(nodes[1]!.url));
    expect(await emitWithAck(late.socket, 'join-channel', { data: { roomChannel: 'failover' } })).toEqual({ ok: true, onlineUsers: 4 });
    await expectCounts([...members, late], 'failover', 4, Math.max(1000, 15_000 - (performance.now() - killedAt)));

    // Past a node TTL and a heartbeat after the kill: no survivor reaped a live node.
    const quietUntil = killedAt + 5000 + 1500 + 1000;
    const marker = nextEvent<RelayedEnvelope>(members[2]!.socket, 'failover', (e) => e.data.message === 'marker', 20_000);
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, quietUntil - performance.now())));
    publisher.emit('failover', { data: { roomChannel: 'failover', message: 'marker', roomId: null } });
    await marker;
    expect(leaves.map((l) => l.length)).toEqual([0, 0, 0]);
    polling = false;
    await poller;
    // Not ready while it could not reach the master, ready again after.
    expect(readiness).toContain(503);
    expect(readiness.at(-1)).toBe(200);
    // Figures for the note: printed, not asserted beyond the bounds above.
    process.stdout.write(
      `sentinel failover: promoted after ${Math.round(promotedAfterMs)} ms, cross-node delivery resumed after ${Math.round(resumedAfterMs ?? -1)} ms\n`,
    );
  }, 60_000);
});

describe('Sentinel planned failover', () => {
  it('SENTINEL FAILOVER under live traffic: delivery resumes within 3 s, nothing twice, no false leaves, counts exact', async () => {
    const { set, nodes, members, leaves } = await sentinelRig('planned');
    const stream = startLiveStream(members[0]!.socket, members, 'planned');
    await vi.waitFor(() => expect(stream.seqs(2).length).toBeGreaterThan(5), { timeout: 10_000 });
    const startedAt = performance.now();
    const { switchedAfterMs } = await set.failover();
    let resumedAfterMs: number | undefined;
    await vi.waitFor(
      () => {
        resumedAfterMs = stream.resumedAfter(startedAt, [1, 2]);
        expect(resumedAfterMs).toBeDefined();
      },
      { timeout: Math.max(100, 3_000 - (performance.now() - startedAt)), interval: 20 },
    );
    await vi.waitFor(
      async () => expect(await Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/readyz`)).status))).toEqual([200, 200, 200]),
      { timeout: 15_000, interval: 50 },
    );
    const settledSeq = stream.sent;
    await new Promise<void>((resolve) => setTimeout(resolve, 2000));
    const last = stream.stop();
    await vi.waitFor(() => expect(members.map((_, m) => stream.seqs(m).includes(last))).toEqual([true, true, true]), { timeout: 10_000 });
    for (let m = 0; m < 3; m++) {
      const got = stream.seqs(m);
      expect(new Set(got).size, `member ${m} got a message twice`).toBe(got.length);
      for (let s = settledSeq + 1; s <= last; s++) expect(got, `member ${m} misses #${s}`).toContain(s);
    }
    const late = member(await connectClient(nodes[1]!.url));
    expect(await emitWithAck(late.socket, 'join-channel', { data: { roomChannel: 'planned' } })).toEqual({ ok: true, onlineUsers: 4 });
    await expectCounts([...members, late], 'planned', 4);
    expect(leaves.map((l) => l.length)).toEqual([0, 0, 0]);
    process.stdout.write(
      `sentinel planned failover: switched after ${Math.round(switchedAfterMs)} ms, cross-node delivery resumed ${Math.round(resumedAfterMs ?? -1)} ms after the command\n`,
    );
  }, 60_000);
});
