import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { startRedisProcess, type RedisProcess } from './redis-process.js';
import { registerTeardown } from './teardown.js';

/**
 * A Redis Sentinel set of real processes on free loopback ports: one
 * master, one replica, three sentinels (quorum 2), failing over one second
 * after the master stops answering. Torn down with the test or suite.
 */
export interface RedisSentinelSet {
  readonly masterName: string;
  /** `host:port` of each sentinel: REDIS_SENTINELS. */
  readonly sentinels: readonly { host: string; port: number }[];
  /** The master and replica processes, in their starting roles. */
  readonly servers: readonly RedisProcess[];
  /** The port the sentinels name as master right now. */
  masterPort(): Promise<number>;
  /** SIGKILL of the current master; resolves once the sentinels have promoted another. */
  killMaster(): Promise<{ oldPort: number; newPort: number; promotedAfterMs: number }>;
  /**
   * SENTINEL FAILOVER (a planned switch: the replica is promoted, the old
   * master demoted, and the sentinels close the clients of the demoted one);
   * resolves once the new master answers as master.
   */
  failover(): Promise<{ oldPort: number; newPort: number; switchedAfterMs: number }>;
  stop(): Promise<void>;
}

const MASTER_NAME = 'realtime';

async function sentinelMasterPort(port: number): Promise<number | undefined> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    const reply = (await client.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as [string, string] | null;
    return reply === null ? undefined : Number(reply[1]);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`sentinel set: ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RedisSentinelSetOptions {
  /** `requirepass` of the data nodes (the sentinels themselves stay open, as in many real sets). */
  password?: string;
}

export async function startRedisSentinelSet(options: RedisSentinelSetOptions = {}): Promise<RedisSentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'rt-sentinel-'));
  const auth = options.password === undefined ? [] : ['--masterauth', options.password];
  const master = await startRedisProcess({ ...(options.password === undefined ? {} : { password: options.password }), extraArgs: auth });
  const replica = await startRedisProcess({
    ...(options.password === undefined ? {} : { password: options.password }),
    extraArgs: [...auth, '--replicaof', '127.0.0.1', String(master.port)],
  });
  const sentinels: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([...sentinels, replica, master].map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  registerTeardown(stop);
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const configFile = join(dir, `sentinel-${i}.conf`);
    // A sentinel rewrites its config file: each gets its own, in a private directory.
    writeFileSync(
      configFile,
      [
        `port ${port}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        ...(options.password === undefined ? [] : [`sentinel auth-pass ${MASTER_NAME} ${options.password}`]),
        '',
      ].join('\n'),
    );
    sentinels.push(await startRedisProcess({ configFile, extraArgs: ['--sentinel'], readyLine: '+monitor master', port }));
  }
  // Ready when every sentinel knows the replica and the other two sentinels: a failover can then happen.
  await until('sentinels did not discover each other and the replica', 20_000, async () => {
    for (const sentinel of sentinels) {
      const client = new Redis({ port: sentinel.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      try {
        const info = (await client.call('SENTINEL', 'master', MASTER_NAME)) as string[];
        const field = (name: string) => Number(info[info.indexOf(name) + 1]);
        if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return undefined;
      } finally {
        client.disconnect();
      }
    }
    return true;
  });
  const byPort = new Map([master, replica].map((p) => [p.port, p]));
  const masterPort = () => until('no sentinel named a master', 5000, () => sentinelMasterPort(sentinels[0]!.port));
  return {
    masterName: MASTER_NAME,
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers: [master, replica],
    masterPort,
    async killMaster() {
      const oldPort = await masterPort();
      const killedAt = performance.now();
      await byPort.get(oldPort)?.kill();
      const newPort = await until('no failover', 30_000, async () => {
        const port = await sentinelMasterPort(sentinels[0]!.port);
        return port !== undefined && port !== oldPort ? port : undefined;
      });
      return { oldPort, newPort, promotedAfterMs: performance.now() - killedAt };
    },
    async failover() {
      const oldPort = await masterPort();
      const startedAt = performance.now();
      const sentinel = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      try {
        await sentinel.call('SENTINEL', 'FAILOVER', MASTER_NAME);
      } finally {
        sentinel.disconnect();
      }
      const newPort = await until('no planned failover', 30_000, async () => {
        const port = await sentinelMasterPort(sentinels[0]!.port);
        if (port === undefined || port === oldPort) return undefined;
        const server = new Redis({
          port,
          host: '127.0.0.1',
          maxRetriesPerRequest: 0,
          lazyConnect: true,
          ...(options.password === undefined ? {} : { password: options.password }),
        });
        try {
          await server.connect();
          return (await server.role())[0] === 'master' ? port : undefined;
        } catch {
          return undefined;
        } finally {
          server.disconnect();
        }
      });
      return { oldPort, newPort, switchedAfterMs: performance.now() - startedAt };
    },
    stop,
  };
}
