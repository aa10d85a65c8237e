import { nowMs } from './clock.js';
import { messageCounts, type HookedPhase, type ResolvedOptions } from './options.js';
import { forkWorker, inProcessPair, type ParentEnd } from './worker/link.js';
import type { WorkerMessage, WorkerResult, WorkerTick } from './worker/protocol.js';
import { runWorker } from './worker/run-worker.js';

export class LoadTestRunError extends Error {
  override readonly name = 'LoadTestRunError';
}

/** How long after a barrier's release the workers start together (ms). */
const START_LEAD_MS = 100;

/** The longest a run may take before the orchestrator gives up on it: generous, but finite. */
export function runBoundMs(options: ResolvedOptions): number {
  const connectMs = options.connectRate > 0 ? (options.clients / options.connectRate) * 1000 : options.clients * 20;
  const counts = messageCounts(options);
  const sendMs = ['fanout', 'rooms', 'churn'].includes(options.scenario) ? (counts.total / options.rate) * 1000 : 0;
  return connectMs + sendMs + options.drainMs + 4 * options.ackTimeoutMs + 30_000;
}

export interface OrchestratorHooks {
  onTick(tick: WorkerTick): void;
  onResult(result: WorkerResult): void;
  /** Awaited before the release of the barrier that starts `phase` (see LoadTestOptions.onPhase). */
  onPhase?: ((phase: HookedPhase) => void | Promise<void>) | undefined;
}

/** The barriers of runMessaging that a caller's onPhase hook runs at. */
const HOOKED_BARRIERS: Readonly<Record<string, HookedPhase>> = { ready: 'sending', drained: 'drained' };

/**
 * Starts the workers (in this process for --workers 1, else forked), passes
 * barriers between them, forwards their ticks, and resolves with every
 * worker's result once all are in and all workers are gone. Any worker
 * failure, exit or the run's time bound aborts every worker and rejects.
 */
export async function orchestrate(
  options: ResolvedOptions,
  runStart: number,
  hooks: OrchestratorHooks,
  signal?: AbortSignal,
): Promise<WorkerResult[]> {
  const ends: ParentEnd[] = [];
  if (options.workers === 1) {
    const pair = inProcessPair();
    void runWorker(pair.worker);
    ends.push(pair.parent);
  } else {
    for (let w = 0; w < options.workers; w++) ends.push(forkWorker());
  }

  return new Promise<WorkerResult[]>((resolve, reject) => {
    const results: (WorkerResult | undefined)[] = Array.from({ length: ends.length }, () => undefined);
    const barriers = new Map<string, unknown[]>();
    let received = 0;
    let finished = false;

    const onAbort = (): void => finish(new LoadTestRunError('the run was aborted by its caller'));
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(watchdog);
      signal?.removeEventListener('abort', onAbort);
      for (const end of ends) end.send(error === undefined ? { type: 'close' } : { type: 'abort', reason: error.message });
      void Promise.all(ends.map((end) => end.dispose(5000))).then(() => {
        if (error !== undefined) reject(error);
        else resolve(results as WorkerResult[]);
      });
    };

    const onMessage = (worker: number, message: WorkerMessage): void => {
      if (finished) return;
      switch (message.type) {
        case 'barrier': {
          const arrived = barriers.get(message.name) ?? [];
          arrived[worker] = message.payload;
          barriers.set(message.name, arrived);
          if (Object.keys(arrived).length === ends.length) {
            barriers.delete(message.name);
            const release = (): void => {
              if (finished) return;
              const at = nowMs() + START_LEAD_MS;
              for (const end of ends) end.send({ type: 'release', name: message.name, payloads: arrived, at });
            };
            const phase = HOOKED_BARRIERS[message.name];
            const hook = hooks.onPhase;
            if (phase === undefined || hook === undefined) {
              release();
              break;
            }
            Promise.resolve()
              .then(() => hook(phase))
              .then(release, (err: unknown) =>
                finish(
                  new LoadTestRunError(`the onPhase hook failed at "${phase}": ${err instanceof Error ? err.message : String(err)}`, {
                    cause: err,
                  }),
                ),
              );
          }
          break;
        }
        case 'tick':
          hooks.onTick(message.tick);
          break;
        case 'result':
          results[worker] = message.result;
          hooks.onResult(message.result);
          if (++received === ends.length) finish();
          break;
        case 'fatal':
          finish(new LoadTestRunError(`generator worker ${worker} failed: ${message.error.message}`));
          break;
        case 'closed':
          break;
      }
    };

    const watchdog = setTimeout(
      () => finish(new LoadTestRunError(`the run did not finish within its bound of ${Math.round(runBoundMs(options) / 1000)} s; aborted`)),
      runBoundMs(options),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    ends.forEach((end, worker) => {
      end.onMessage((message) => onMessage(worker, message));
      end.onExit((code, signal) => {
        if (!finished) finish(new LoadTestRunError(`generator worker ${worker} (pid ${end.pid}) exited unexpectedly (${code ?? signal})`));
      });
      end.send({ type: 'init', init: { worker, options, runStart } });
    });
    if (signal?.aborted) onAbort();
  });
}
