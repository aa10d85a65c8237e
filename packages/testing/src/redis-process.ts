import { tmpdir } from 'node:os';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';

/** A `redis-server` child process that a test owns: it may kill and restart it. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: every connection drops, nothing is saved. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same port (after `kill`). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  stop(): Promise<void>;
}

export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

function waitForReady(child: ChildProcess, port: number, readyLine = 'Ready to accept connections'): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(readyLine)) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code}: ${output}`)));
  });
}

export interface RedisProcessOptions {
  /** `requirepass`: clients must AUTH with it; `url` then carries it (redis://:password@…). */
  password?: string;
  /** More `redis-server` arguments (e.g. `--replicaof 127.0.0.1 <port>`, `--cluster-enabled yes`). */
  extraArgs?: readonly string[];
  /** A config file to start from (e.g. a sentinel's), given before the arguments. */
  configFile?: string;
  /** The output line that means "serving" (a sentinel prints its own). */
  readyLine?: string;
  /** The port to listen on. Default: a free one. */
  port?: number;
}

export async function startRedisProcess(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  if (!hasRedisServerBinary()) {
    throw new Error('redis-server is not installed: `apt-get install redis-server` (or set REDIS_URL, or run a Docker engine)');
  }
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        ...(options.configFile === undefined ? [] : [options.configFile]),
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        // A replica's full sync still writes an RDB file: in the temp dir, one per port, never in the caller's cwd.
        '--dir',
        tmpdir(),
        '--dbfilename',
        `realtime-test-${port}.rdb`,
        '--protected-mode',
        'no',
        ...(options.password === undefined ? [] : ['--requirepass', options.password]),
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = proc;
    await waitForReady(proc, port, options.readyLine);
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    kill,
    start,
    stop: async () => {
      child?.kill('SIGCONT'); // a paused server cannot act on SIGKILL's aftermath otherwise
      await kill();
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
