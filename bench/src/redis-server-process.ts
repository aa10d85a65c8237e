import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A private redis-server for the benchmark, on a free loopback port. */
export interface BenchRedis {
  url: string;
  stop(): Promise<void>;
}

/** One redis-server child process. */
export interface RedisServerProcess {
  port: number;
  pid: number;
  /** SIGKILL, resolved once it has exited. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function requireBinary(name: 'redis-server' | 'redis-cli'): void {
  if (spawnSync(name, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`the benchmark starts its own Redis: install ${name} (apt-get install redis-server)`);
  }
}

/** Starts `redis-server` on `port` (no persistence) with `extraArgs`; resolves once it accepts connections. */
export async function spawnRedisServer(port: number, extraArgs: readonly string[] = []): Promise<RedisServerProcess> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited (${code}): ${output}`)));
  });
  child.stdout?.resume();
  return {
    port,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

export async function startBenchRedis(): Promise<BenchRedis> {
  requireBinary('redis-server');
  const server = await spawnRedisServer(await freePort());
  return { url: `redis://127.0.0.1:${server.port}`, stop: () => server.stop() };
}
