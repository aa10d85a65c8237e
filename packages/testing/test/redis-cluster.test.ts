import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { startRedisCluster, type RedisCluster } from '@realtime/testing';

/**
 * The Redis Cluster launcher against real `redis-server` processes: the
 * topology it builds, where keys land, a SIGKILLed master's promotion, a
 * manual failover and a slot migration, each checked through an ioredis
 * `Cluster` client and through the nodes themselves. Figures go to stdout.
 */

function report(line: string): void {
  process.stdout.write(`[redis-cluster] ${line}\n`);
}

function clusterClient(cluster: RedisCluster, password?: string): Cluster {
  const client = new Cluster([...cluster.seeds], {
    redisOptions: { ...(password === undefined ? {} : { password }), connectTimeout: 2000 },
    clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    slotsRefreshTimeout: 2000,
  });
  client.on('error', () => undefined); // failures surface as rejected commands
  onTestFinished(() => {
    client.disconnect();
  });
  return client;
}

/** A plain connection to one node (no redirections followed). */
function nodeClient(port: number, password?: string): Redis {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(password === undefined ? {} : { password }) });
  client.on('error', () => undefined);
  onTestFinished(() => {
    client.disconnect();
  });
  return client;
}

/** Keys whose hash tags put them on `count` different masters: master port → key. */
async function keysOnDistinctMasters(cluster: RedisCluster, count: number): Promise<Map<number, string>> {
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < count; i++) {
    const key = `{tag-${i}}:value`;
    const { port } = await cluster.masterOf(key);
    if (!byMaster.has(port)) byMaster.set(port, key);
  }
  return byMaster;
}

describe('startRedisCluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    const startedAt = performance.now();
    cluster = await startRedisCluster();
    report(`built 3+3 cluster in ${Math.round(performance.now() - startedAt)} ms`);
  });

  it('is ok on every node, with 3 masters each with 1 replica covering all slots', async () => {
    const shards = await cluster.shards();
    expect(shards).toHaveLength(3);
    expect(shards.map((s) => s.replicas.length)).toEqual([1, 1, 1]);
    expect(shards.flatMap((s) => s.slots).reduce((n, [a, b]) => n + b - a + 1, 0)).toBe(16384);
    expect(cluster.seeds.map((s) => s.port).sort()).toEqual(shards.map((s) => s.master.port).sort());
    expect(cluster.processes).toHaveLength(6);
    for (const proc of cluster.processes) {
      expect(proc.port).not.toBe(6379);
      expect(await nodeClient(proc.port).call('CLUSTER', 'INFO')).toContain('cluster_state:ok');
    }
    for (const shard of shards) {
      const replica = await cluster.replicaOf(shard.master.port);
      expect(replica.nodeId).toBe(shard.replicas[0]!.nodeId);
      const role = (await nodeClient(replica.port).call('ROLE')) as unknown[];
      expect(role.slice(0, 3)).toEqual(['slave', '127.0.0.1', shard.master.port]);
    }
  });

  it('puts keys with different hash tags on different masters, reachable through a Cluster client', async () => {
    const keys = await keysOnDistinctMasters(cluster, 3);
    const client = clusterClient(cluster);
    for (const [port, key] of keys) {
      await client.set(key, `on-${port}`);
      expect(await client.get(key)).toBe(`on-${port}`);
      // The key really lives on that master: a plain connection there reads it,
      expect(await nodeClient(port).get(key)).toBe(`on-${port}`);
      // and another master redirects.
      const other = [...keys.keys()].find((p) => p !== port)!;
      await expect(nodeClient(other).get(key)).rejects.toThrow(/^MOVED \d+ 127\.0\.0\.1:/);
    }
  });

  it('migrateSlot moves a slot and its key; a Cluster client reads it from the new owner', async () => {
    const key = '{migrate}:key';
    const slot = await cluster.slotOf(key);
    const source = await cluster.masterOfSlot(slot);
    const target = cluster.seeds.find((s) => s.port !== source.port)!;
    const client = clusterClient(cluster);
    await client.set(key, 'moved');
    const result = await cluster.migrateSlot(slot, target.port);
    report(`migrateSlot of slot ${slot} (${result.movedKeys} key) took ${Math.round(result.tookMs)} ms`);
    expect(result).toMatchObject({ fromMasterPort: source.port, movedKeys: 1 });
    expect((await cluster.masterOfSlot(slot)).port).toBe(target.port);
    expect(await nodeClient(target.port).get(key)).toBe('moved');
    await expect(nodeClient(source.port).get(key)).rejects.toThrow(`MOVED ${slot} 127.0.0.1:${target.port}`);
    // The client's slot map still names the source: it follows the MOVED.
    expect(await client.get(key)).toBe('moved');
    await client.set(key, 'written-after');
    expect(await nodeClient(target.port).get(key)).toBe('written-after');
  });

  it('manualFailover swaps the roles of a master and its replica', async () => {
    const [shard] = await cluster.shards();
    const oldMaster = shard!.master.port;
    const replica = await cluster.replicaOf(oldMaster);
    const result = await cluster.manualFailover(oldMaster);
    report(`manualFailover took ${Math.round(result.tookMs)} ms`);
    expect(result.newMasterPort).toBe(replica.port);
    const after = (await cluster.shards()).find((s) => s.master.port === replica.port);
    expect(after?.replicas.map((r) => r.port)).toEqual([oldMaster]);
    expect(after?.slots).toEqual(shard!.slots);
    expect(((await nodeClient(oldMaster).call('ROLE')) as unknown[])[0]).toBe('slave');
    expect((await cluster.replicaOf(replica.port)).port).toBe(oldMaster);
  });

  it('killMaster: the replica is promoted and a Cluster client writes and reads the key again', async () => {
    const [[masterPort, key]] = [...(await keysOnDistinctMasters(cluster, 1))] as [[number, string]];
    const replica = await cluster.replicaOf(masterPort);
    const client = clusterClient(cluster);
    await client.set(key, 'before');
    const result = await cluster.killMaster(masterPort);
    report(`killMaster: promoted after ${Math.round(result.promotedAfterMs)} ms, settled after ${Math.round(result.settledAfterMs)} ms`);
    expect(result.newMasterPort).toBe(replica.port);
    expect(result.promotedAfterMs).toBeGreaterThan(2000); // at least cluster-node-timeout: a real failure detection
    expect(result.promotedAfterMs).toBeLessThan(15_000);
    expect((await cluster.masterOf(key)).port).toBe(replica.port);
    // The same client, whose slot map named the dead master, recovers (it refreshes its map).
    await vi.waitFor(async () => expect(await client.get(key)).toBe('before'), { timeout: 10_000, interval: 100 });
    await client.set(key, 'after');
    expect(await client.get(key)).toBe('after');
    expect(await nodeClient(replica.port).get(key)).toBe('after');
    await expect(cluster.replicaOf(replica.port)).rejects.toThrow(/no replica/);
  }, 45_000);
});

describe('startRedisCluster with a password', () => {
  const password = 'cluster-secret';
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ password });
  });

  it('serves clients with the password and refuses those without', async () => {
    const client = clusterClient(cluster, password);
    await client.set('{auth}:key', 'ok');
    expect(await client.get('{auth}:key')).toBe('ok');
    const { port } = await cluster.masterOf('{auth}:key');
    await expect(nodeClient(port).get('{auth}:key')).rejects.toThrow(/NOAUTH/);
    expect(await nodeClient(port, password).get('{auth}:key')).toBe('ok');
  });

  it('migrates a slot with MIGRATE … AUTH2 and fails over a killed master (masterauth)', async () => {
    const key = '{auth-migrate}:key';
    const client = clusterClient(cluster, password);
    await client.set(key, 'v');
    const source = await cluster.masterOf(key);
    const target = cluster.seeds.find((s) => s.port !== source.port)!;
    const migrated = await cluster.migrateSlot(await cluster.slotOf(key), target.port);
    expect(migrated.movedKeys).toBe(1);
    expect(await client.get(key)).toBe('v');
    const killed = await cluster.killMaster(target.port);
    report(`killMaster with a password: promoted after ${Math.round(killed.promotedAfterMs)} ms`);
    expect(killed.promotedAfterMs).toBeLessThan(15_000);
    await vi.waitFor(async () => expect(await client.get(key)).toBe('v'), { timeout: 10_000, interval: 100 });
  }, 45_000);
});
