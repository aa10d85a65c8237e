import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ParentMessage, WorkerMessage } from './protocol.js';

/** The orchestrator's end of a worker. */
export interface ParentEnd {
  readonly pid: number;
  send(message: ParentMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Called when a worker process exits (never for in-process workers). */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  /** Resolves once the worker is gone; kills a process that does not exit within `graceMs`. */
  dispose(graceMs: number): Promise<void>;
}

/** The worker's end. */
export interface WorkerEnd {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: ParentMessage) => void): void;
  /** Releases the channel (a forked worker can then exit). */
  close(): void;
}

/** A worker in this process: messages are delivered asynchronously, as over IPC. */
export function inProcessPair(): { parent: ParentEnd; worker: WorkerEnd } {
  const toParent: ((m: WorkerMessage) => void)[] = [];
  const toWorker: ((m: ParentMessage) => void)[] = [];
  let closed = false;
  let onClosed: (() => void) | undefined;
  const parent: ParentEnd = {
    pid: process.pid,
    send: (message) => setImmediate(() => toWorker.forEach((l) => l(message))),
    onMessage: (listener) => void toParent.push(listener),
    onExit: () => undefined,
    // Waits for the worker to release everything, at most `graceMs` (an in-process worker cannot be killed).
    dispose: (graceMs) =>
      closed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            onClosed = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
  };
  const worker: WorkerEnd = {
    send: (message) => setImmediate(() => toParent.forEach((l) => l(message))),
    onMessage: (listener) => void toWorker.push(listener),
    close: () => {
      closed = true;
      onClosed?.();
    },
  };
  return { parent, worker };
}

/**
 * The worker entry point as JavaScript: next to this file once compiled;
 * from the TypeScript sources (tests), the compiled copy in dist/.
 */
export function workerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.ts')
    ? fileURLToPath(new URL('../../dist/worker/main.js', import.meta.url))
    : fileURLToPath(new URL('./main.js', import.meta.url));
  if (!existsSync(compiled)) throw new Error(`worker entry ${compiled} is missing: run \`npm run build\` first`);
  return compiled;
}

/** A worker process started with `child_process.fork`. */
export function forkWorker(): ParentEnd {
  const child: ChildProcess = fork(workerEntryPath(), [], {
    serialization: 'advanced',
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid ?? -1,
    send: (message) => {
      if (child.connected) child.send(message);
    },
    onMessage: (listener) => void child.on('message', (m) => listener(m as WorkerMessage)),
    onExit: (listener) => void child.once('exit', listener),
    dispose: async (graceMs) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** This process's end when it was forked as a worker. */
export function processWorkerEnd(): WorkerEnd {
  return {
    send: (message) => {
      if (process.connected) process.send?.(message);
    },
    onMessage: (listener) => void process.on('message', (m) => listener(m as ParentMessage)),
    close: () => {
      if (process.connected) process.disconnect();
    },
  };
}
