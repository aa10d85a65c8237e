import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { pollUntil } from './poll-until.js';
import { ClusterAdmin } from './redis-cluster-admin.js';
import { checkSettled } from './redis-cluster-health.js';
import * as ops from './redis-cluster-ops.js';
import type { ClusterNodeAddress, ClusterShard } from './redis-cluster-views.js';
import { startRedisProcess, type RedisProcess } from './redis-process.js';
import { registerTeardown } from './teardown.js';

export type { ClusterNodeAddress, ClusterShard } from './redis-cluster-views.js';
export type { FailoverResult, KillMasterResult, MigrateSlotResult } from './redis-cluster-ops.js';

/**
 * A real Redis Cluster of six `redis-server` processes on free loopback
 * ports: three masters with one replica each, `cluster-node-timeout` 2000 ms
 * (a SIGKILLed master's replica takes over in about 4 s). Every method that
 * changes the topology resolves only once the cluster has settled: on every
 * node that accepts connections, `cluster_state:ok`, one agreed view of
 * slots and roles, and every replica's replication link up. Torn down with
 * the test or suite that started it; never touches any other Redis.
 */
export interface RedisCluster {
  /** The masters at start, ascending by slot: startup nodes for a cluster client (REDIS_CLUSTER_NODES). */
  readonly seeds: readonly { host: string; port: number }[];
  /** All six processes (masters first, as at start). Killing one directly bypasses the helpers' checks. */
  readonly processes: readonly RedisProcess[];
  /** The agreed topology now (throws if the cluster is not settled). */
  shards(): Promise<readonly ClusterShard[]>;
  /** CLUSTER KEYSLOT: the slot (0..16383) of `key`. */
  slotOf(key: string): Promise<number>;
  /** The master serving `key`'s slot, as every reachable node names it. */
  masterOf(key: string): Promise<ClusterNodeAddress>;
  masterOfSlot(slot: number): Promise<ClusterNodeAddress>;
  /** The replica of the master on `masterPort` whose replication link is up; throws if there is none. */
  replicaOf(masterPort: number): Promise<ClusterNodeAddress>;
  /**
   * SIGKILL of the master on `port` once its replica has caught up with it
   * (so writes acknowledged before the call survive); resolves when the
   * replica is promoted and the cluster has settled. The killed node stays
   * down, and its shard has no replica from then on.
   */
  killMaster(port: number): Promise<ops.KillMasterResult>;
  /** CLUSTER FAILOVER on the master's replica; resolves when the roles have swapped and the cluster has settled. */
  manualFailover(masterPort: number): Promise<ops.FailoverResult>;
  /**
   * Moves `slot` and its keys to the master on `toMasterPort`: SETSLOT
   * IMPORTING / MIGRATING, GETKEYSINSLOT + MIGRATE in batches of 100 (with
   * AUTH2 when there is a password), SETSLOT NODE on the target, the source
   * and the other masters; resolves once every reachable node agrees on the
   * new owner. Keys are read as UTF-8 strings.
   */
  migrateSlot(slot: number, toMasterPort: number): Promise<ops.MigrateSlotResult>;
  /** Kills every process and removes the data directory; idempotent. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** `requirepass` and `masterauth` on every node; redis-cli and the helpers authenticate with it. */
  password?: string;
}

const HOST = '127.0.0.1';
const NODES = 6;
/** Ports a test must never take over: the shared Redis and its cluster bus. */
const RESERVED = new Set([6379, 16379]);

async function distinctFreePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!taken.has(port) && !RESERVED.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

/** One node: a client port and a cluster bus port (`--cluster-port`: port + 10000 may be taken or above 65535). */
async function startNode(dir: string, index: number, taken: Set<number>, password: string | undefined): Promise<RedisProcess> {
  const nodeDir = join(dir, `node-${index}`);
  mkdirSync(nodeDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await distinctFreePort(taken);
    const busPort = await distinctFreePort(taken);
    try {
      return await startRedisProcess({
        port,
        ...(password === undefined ? {} : { password }),
        extraArgs: [
          ...['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--cluster-port', String(busPort)],
          ...['--cluster-config-file', join(nodeDir, 'nodes.conf'), '--dir', nodeDir],
          // Masters hold a first full sync 5 s by default (to serve several replicas with one RDB):
          // until it is done the replica has no data age and would never take over.
          ...['--repl-diskless-sync-delay', '0'],
          // Replicas stay with their master, so the topology changes only when a test changes it.
          ...['--cluster-allow-replica-migration', 'no'],
          ...(password === undefined ? [] : ['--masterauth', password]),
        ],
      });
    } catch (err) {
      // Another process took one of the ports between freePort and the bind.
      if (attempt >= 3) throw err;
    }
  }
}

async function createCluster(ports: readonly number[], password: string | undefined): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '1', '--cluster-yes'];
  // REDISCLI_AUTH is redis-cli's `-a` without the password on its command line (ps, error messages).
  const env = password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: password };
  try {
    await promisify(execFile)('redis-cli', args, { env, timeout: 30_000 });
  } catch (err) {
    const out = err !== null && typeof err === 'object' && 'stdout' in err ? String(err.stdout) : '';
    throw new Error(`redis-cli ${args.join(' ')} failed: ${err instanceof Error ? err.message : String(err)}\n${out}`, {
      cause: err,
    });
  }
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { password } = options;
  const dir = mkdtempSync(join(tmpdir(), 'rt-redis-cluster-'));
  const admin = new ClusterAdmin(HOST, password);
  const started: RedisProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    admin.close();
    await Promise.all(started.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  registerTeardown(stop);

  const taken = new Set<number>();
  await Promise.all(
    Array.from({ length: NODES }, async (_, i) => {
      started.push(await startNode(dir, i, taken, password));
    }),
  );
  await createCluster(
    started.map((p) => p.port),
    password,
  );
  const byPort = new Map(started.map((p) => [p.port, p]));
  const { shards } = await pollUntil('the new cluster did not settle', 30_000, () =>
    checkSettled(admin, [...byPort.keys()], { replicasPerMaster: 1 }),
  );
  const masters = shards.map((s) => s.master.port);
  const ctx: ops.ClusterContext = { admin, host: HOST, password, processes: byPort };
  return {
    seeds: masters.map((port) => ({ host: HOST, port })),
    processes: [...started].sort((a, b) => Number(!masters.includes(a.port)) - Number(!masters.includes(b.port))),
    shards: async () => (await checkSettled(admin, [...byPort.keys()])).shards,
    slotOf: (key) => ops.slotOf(ctx, key),
    masterOf: async (key) => ops.masterOfSlot(ctx, await ops.slotOf(ctx, key)),
    masterOfSlot: (slot) => ops.masterOfSlot(ctx, slot),
    replicaOf: (masterPort) => ops.replicaOf(ctx, masterPort),
    killMaster: (port) => ops.killMaster(ctx, port),
    manualFailover: (masterPort) => ops.manualFailover(ctx, masterPort),
    migrateSlot: (slot, toMasterPort) => ops.migrateSlot(ctx, slot, toMasterPort),
    stop,
  };
}
