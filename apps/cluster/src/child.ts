import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process this package started, with its exit as a promise. */
export interface Child {
  readonly name: string;
  readonly pid: number | undefined;
  readonly exited: Promise<Exit>;
  /** True until the process has exited. */
  readonly running: boolean;
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal`, waits `graceMs` for the exit, then SIGKILLs. Resolves with the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

export interface SpawnChildOptions extends Pick<SpawnOptions, 'cwd' | 'env'> {
  name: string;
  command: string;
  args: readonly string[];
  /** Each stdout / stderr line, as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export function spawnChild(options: SpawnChildOptions): Child {
  const proc: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches only the CLI, which
    // then stops each child in order (a node hit by Ctrl-C and then by the
    // CLI's SIGTERM would take that as a second signal and skip its drain).
    detached: true,
  });
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    proc.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    // A command that cannot be spawned (ENOENT) emits 'error' and no 'exit'.
    proc.once('error', () => {
      running = false;
      resolve({ code: null, signal: null });
    });
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    const input = proc[stream];
    if (input === null) continue;
    const lines = createInterface({ input });
    lines.on('line', (line) => options.onLine?.(line, stream));
  }
  return {
    name: options.name,
    pid: proc.pid,
    exited,
    get running() {
      return running;
    },
    signal(signal) {
      if (running) proc.kill(signal);
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (!running) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}
