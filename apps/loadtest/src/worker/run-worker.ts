import { SCENARIO_RUNNERS } from '../scenarios/index.js';
import { RunAborted, WorkerContext } from './context.js';
import type { WorkerEnd } from './link.js';
import type { ParentMessage, WorkerInit } from './protocol.js';

/**
 * A worker's life: init → scenario → result → (close) → closed. Sockets and
 * timers are all released before `closed`, so a forked worker exits by
 * itself.
 */
export async function runWorker(end: WorkerEnd): Promise<void> {
  // Set once the init message arrived; messages before it have no context to go to.
  let ctx: WorkerContext | undefined = undefined;
  let resolveInit: (init: WorkerInit) => void = () => undefined;
  let resolveClose: () => void = () => undefined;
  const initialized = new Promise<WorkerInit>((resolve) => (resolveInit = resolve));
  const closeRequested = new Promise<void>((resolve) => (resolveClose = resolve));
  end.onMessage((message: ParentMessage) => {
    if (message.type === 'init') resolveInit(message.init);
    else if (message.type === 'close') resolveClose();
    else {
      if (message.type === 'abort') resolveClose();
      ctx?.handle(message);
    }
  });
  const init = await initialized;
  const context = new WorkerContext(init, end);
  ctx = context;
  try {
    context.startTicks();
    await SCENARIO_RUNNERS[init.options.scenario](context);
    end.send({ type: 'result', result: context.result() });
  } catch (err) {
    if (!(err instanceof RunAborted)) {
      const error = err instanceof Error ? err : new Error(String(err));
      end.send({ type: 'fatal', error: { name: error.name, message: error.stack ?? error.message } });
    }
  }
  await closeRequested;
  context.close();
  end.send({ type: 'closed' });
  end.close();
}
