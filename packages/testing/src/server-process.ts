import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { registerTeardown } from './teardown.js';

const SERVER_MAIN = fileURLToPath(new URL('../../../apps/server/dist/main.js', import.meta.url));

/** A server node running as its own process (`node apps/server/dist/main.js`). */
export interface ServerProcess {
  readonly nodeId: string;
  /** The process id (for /proc: open file descriptors, RSS). */
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process has exited, right now. */
  exitedSync(): boolean;
  /** Sends a signal; SIGKILL is a crash, SIGTERM a drain. */
  signal(signal: NodeJS.Signals): void;
  /** Stops it if still running (SIGKILL) and waits for the exit. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  nodeId: string;
  redisUrl?: string;
  keyPrefix?: string;
  env?: Record<string, string>;
}

/**
 * Starts a node on a free port (PORT=0; the port is read from its
 * `listening` log line) and registers its teardown.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [SERVER_MAIN], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ID: options.nodeId,
      LOG_LEVEL: 'info',
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
      ...(options.keyPrefix ? { REDIS_KEY_PREFIX: options.keyPrefix } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': it comes once stdout and stderr are drained too, so `logs` then holds every line the process wrote.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  registerTeardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });

  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.event === 'listening' && typeof entry.port === 'number') resolve(entry.port);
      } catch {
        logs.push({ raw: line });
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`node ${options.nodeId} exited (${code ?? signal}) before listening: ${stderr}${JSON.stringify(logs.slice(-5))}`)),
    );
  });

  return {
    nodeId: options.nodeId,
    pid: child.pid as number,
    exitedSync: () => child.exitCode !== null || child.signalCode !== null,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    exited,
    signal: (signal) => {
      child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts `count` nodes sharing one Redis and key prefix. */
export async function startCluster(
  count: number,
  options: Omit<ServerProcessOptions, 'nodeId'> & { namePrefix?: string },
): Promise<ServerProcess[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => startServerProcess({ ...options, nodeId: `${options.namePrefix ?? 'node'}-${i + 1}` })),
  );
}
