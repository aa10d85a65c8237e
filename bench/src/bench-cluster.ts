import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export type Implementation = 'ours' | 'baseline';

const ENTRY: Record<Implementation, string> = {
  ours: fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url)),
  baseline: fileURLToPath(new URL('./baseline-server.js', import.meta.url)),
};

export interface BenchNode {
  pid: number;
  url: string;
  /** The inspector's ws:// URL, for heap measurements. */
  inspectorUrl: string;
}

export interface BenchCluster {
  implementation: Implementation;
  nodes: BenchNode[];
  urls: string[];
  stop(): Promise<void>;
}

async function startNode(
  implementation: Implementation,
  index: number,
  env: Record<string, string>,
): Promise<{ node: BenchNode; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', ENTRY[implementation]], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ID: `${implementation}-${index}`, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`${implementation} node ${index} exited (${code ?? signal}) while starting`))),
  );
  const port = new Promise<number>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('"listening"')) return;
      const entry = JSON.parse(line) as { port?: number };
      if (typeof entry.port === 'number') resolve(entry.port);
    });
  });
  const inspectorUrl = new Promise<string>((resolve) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const match = /Debugger listening on (ws:\/\/\S+)/.exec(line);
      if (match) resolve(match[1] as string);
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${implementation} node ${index} printed no "listening" line within 20 s (LOG_LEVEL must be info or lower)`));
    }, 20_000);
  });
  const [p, inspector] = await Promise.race([Promise.all([port, inspectorUrl]), exited, timeout]);
  clearTimeout(timer);
  child.stdout?.resume();
  return { node: { pid: child.pid as number, url: `http://127.0.0.1:${p}`, inspectorUrl: inspector }, child };
}

/** Where the nodes' Redis is: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES, ours only). */
export type BenchRedisTarget = { redisUrl: string } | { redisClusterNodes: string };

function redisEnv(implementation: Implementation, target: BenchRedisTarget): Record<string, string> {
  if ('redisUrl' in target) return { REDIS_URL: target.redisUrl };
  if (implementation !== 'ours') throw new Error('the baseline runs on one Redis server only (REDIS_URL)');
  // Empty, not inherited: the server refuses REDIS_URL and REDIS_CLUSTER_NODES together.
  return { REDIS_URL: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: target.redisClusterNodes };
}

/** Starts `count` nodes of one implementation on one Redis (or one Redis Cluster), each its own process. */
export async function startBenchCluster(
  implementation: Implementation,
  options: BenchRedisTarget & { count: number; keyPrefix: string; env?: Record<string, string> },
): Promise<BenchCluster> {
  const env = { ...redisEnv(implementation, options), REDIS_KEY_PREFIX: options.keyPrefix, ...options.env };
  const started = await Promise.all(Array.from({ length: options.count }, (_, i) => startNode(implementation, i + 1, env)));
  return {
    implementation,
    nodes: started.map((s) => s.node),
    urls: started.map((s) => s.node.url),
    stop: async () => {
      await Promise.all(
        started.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
