import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, requireBinary, spawnRedisServer, type RedisServerProcess } from './redis-server-process.js';

/**
 * A private Redis Cluster for the benchmark: 3 masters with 1 replica each,
 * six redis-server processes on free loopback ports, as
 * `startRedisCluster()` of packages/testing starts for the tests. That one
 * is TypeScript source for vitest and tears down through vitest's hooks, so
 * the benchmark (plain Node) has its own: it stops the cluster itself, and
 * kills the processes when the benchmark exits early.
 */
export interface BenchRedisCluster {
  /** `host:port,…` of every node: REDIS_CLUSTER_NODES. */
  nodes: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const MASTERS = 3;
const SLOTS = '16384';
/** Ports never to take: a developer's own Redis and its cluster bus. */
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

async function startNode(dir: string, index: number, taken: Set<number>): Promise<RedisServerProcess> {
  const nodeDir = join(dir, `node-${index}`);
  mkdirSync(nodeDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    // The bus port is given (--cluster-port): port + 10000 may be taken or above 65535.
    const port = await distinctFreePort(taken);
    const busPort = await distinctFreePort(taken);
    try {
      return await spawnRedisServer(port, [
        ...['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-node-timeout', '5000'],
        ...['--cluster-config-file', join(nodeDir, 'nodes.conf'), '--dir', nodeDir],
        ...['--repl-diskless-sync-delay', '0', '--cluster-allow-replica-migration', 'no'],
      ]);
    } catch (err) {
      // Another process took one of the ports between freePort and the bind.
      if (attempt >= 3) throw err;
    }
  }
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** Why the cluster is not ready yet, or undefined once every node serves all slots and every replica's link is up. */
async function notReady(clients: readonly Redis[]): Promise<string | undefined> {
  for (const client of clients) {
    const info = infoFields(String(await client.call('CLUSTER', 'INFO')));
    if (info.get('cluster_state') !== 'ok') return `node ${client.options.port}: cluster_state:${info.get('cluster_state')}`;
    if (info.get('cluster_slots_ok') !== SLOTS) return `node ${client.options.port}: cluster_slots_ok:${info.get('cluster_slots_ok')}`;
    const replication = infoFields(await client.info('replication'));
    if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') {
      return `replica ${client.options.port}: master_link_status:${replication.get('master_link_status')}`;
    }
  }
  return undefined;
}

export async function startBenchRedisCluster(): Promise<BenchRedisCluster> {
  requireBinary('redis-server');
  requireBinary('redis-cli');
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-cluster-'));
  const started: RedisServerProcess[] = [];
  // An early exit (an error elsewhere, Ctrl-C) must not leave six servers behind.
  const killAll = (): void => {
    for (const { pid } of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killAll);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killAll);
    await Promise.all(started.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    // allSettled: every server that did start is in `started` before a failure is thrown (and stopped).
    const starts = await Promise.allSettled(
      Array.from({ length: MASTERS * 2 }, async (_, i) => {
        started.push(await startNode(dir, i, taken));
      }),
    );
    const failed = starts.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const addresses = started.map((p) => `${HOST}:${p.port}`);
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 30_000,
    });
    const clients = started.map((p) => new Redis({ host: HOST, port: p.port, maxRetriesPerRequest: 1, lazyConnect: true }));
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const reason = await notReady(clients);
        if (reason === undefined) break;
        if (Date.now() > deadline) throw new Error(`the benchmark's Redis Cluster did not settle within 30 s: ${reason}`);
        await sleep(100);
      }
    } finally {
      for (const client of clients) client.disconnect();
    }
    return { nodes: addresses.join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
