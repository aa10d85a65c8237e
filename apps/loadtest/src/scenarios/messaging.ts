import { setMaxListeners } from 'node:events';
import { nowMs } from '../clock.js';
import { messageCounts } from '../options.js';
import type { Topic } from '../topics.js';
import type { StreamEnd, WorkerContext } from '../worker/context.js';

/** How a messaging scenario (fanout, rooms, churn) places clients and messages. */
export interface MessagingPlan {
  /** Topics client `index` joins once connected. */
  topicsOf(index: number): readonly Topic[];
  /** Who sends message `k` of the schedule (k = 0, 1, …), and where. */
  senderOf(k: number): { index: number; topic: Topic };
  /** Activity alongside the sending (churn); must settle soon after `stop` aborts. */
  during?(ctx: WorkerContext, stop: AbortSignal): Promise<void>;
}

/**
 * The shared run of every messaging scenario:
 * 1. all workers start the connect ramp together; each client joins its topics;
 * 2. sending starts together: message k is due at start + k / rate, sent by
 *    its sender's worker (so workers share the rate without talking);
 * 3. after the last message and its acknowledgements, the workers swap how
 *    their streams ended, and drain until every member has everything or
 *    the drain time is up; then wait for each other once more, still
 *    connected.
 * The caller's onPhase hook runs at the `ready` (`sending`) and `drained` barriers.
 */
export async function runMessaging(ctx: WorkerContext, plan: MessagingPlan): Promise<void> {
  const { options } = ctx;
  const start = await ctx.barrier('start', null);
  ctx.phase = 'connecting';
  await ctx.ramp(ctx.indices, start.at, async (client) => {
    for (const topic of plan.topicsOf(client.index)) await ctx.join(client, topic);
  });

  const ready = await ctx.barrier('ready', null);
  const counts = messageCounts(options);
  const interval = 1000 / options.rate;
  ctx.measureStartAt = ready.at + counts.warmup * interval;
  await ctx.until(ready.at);
  ctx.phase = 'sending';
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // one waiter per churning client
  const background = plan.during?.(ctx, stop.signal);
  try {
    await sendSchedule(ctx, plan, ready.at, counts.total, counts.warmup);
  } finally {
    stop.abort();
    await background;
  }
  await ctx.acksDone();

  const ends = await ctx.barrier<StreamEnd[]>('sent', ctx.streamEnds());
  await ctx.drain(ends.payloads.flat(), ends.at + options.drainMs);
  // Every worker drained, nobody has disconnected yet: the caller's `drained` hook runs here.
  await ctx.barrier('drained', null);
}

function sendSchedule(ctx: WorkerContext, plan: MessagingPlan, start: number, total: number, warmup: number): Promise<void> {
  const { rate, workers } = ctx.options;
  const interval = 1000 / rate;
  let k = 0;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const step = (): void => {
      const due = Math.min(total, Math.floor((nowMs() - start) / interval) + 1);
      for (; k < due; k++) {
        const { index, topic } = plan.senderOf(k);
        if (index % workers !== ctx.worker) continue;
        ctx.publish(ctx.clientFor(index), topic, start + k * interval, k < warmup);
      }
      if (k >= total) {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      timer = setTimeout(step, Math.max(0, start + k * interval - nowMs()));
    };
    step();
  });
}
