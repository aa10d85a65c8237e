import { requireBinary } from './binaries.js';
import { spawnChild, type Child } from './child.js';
import { freePort } from './net.js';

/** A `redis-server` child process: no persistence, on loopback. */
export interface LocalRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: every connection drops, nothing is saved. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same port (after `kill`). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing answers (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
  onLine?: (line: string) => void;
}

export async function startRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const binary = requireBinary('redis-server', 'redis-server');
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  let child: Child | undefined;

  const start = async (): Promise<void> => {
    let output = '';
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const proc = spawnChild({
      name: 'redis-server',
      command: binary,
      args: ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      onLine: (line) => {
        options.onLine?.(line);
        if (output.length < 10_000) output += `${line}\n`;
        if (line.includes('Ready to accept connections')) ready();
      },
    });
    child = proc;
    await Promise.race([
      isReady,
      proc.exited.then(({ code, signal }) => {
        throw new Error(`redis-server on ${host}:${port} exited (${code ?? signal}) before it was ready:\n${output}`);
      }),
    ]);
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined) return;
    proc.signal('SIGCONT');
    await proc.stop('SIGKILL');
  };

  await start();
  return {
    port,
    url: `redis://${host}:${port}`,
    kill,
    start,
    pause: () => child?.signal('SIGSTOP'),
    resume: () => child?.signal('SIGCONT'),
    stop: kill,
  };
}
