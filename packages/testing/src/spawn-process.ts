import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptionsWithoutStdio } from 'node:child_process';
import { registerTeardown } from './teardown.js';

export interface SpawnedProcess {
  child: ChildProcessWithoutNullStreams;
  /** The exit code (null when ended by a signal). */
  exited: Promise<number | null>;
}

/** Spawns a process with piped output and registers its teardown: SIGKILL if still running, then wait for the exit. */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptionsWithoutStdio = {}): SpawnedProcess {
  const child = spawn(command, args, { ...options, stdio: 'pipe' });
  child.stdin.end();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  registerTeardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited };
}
