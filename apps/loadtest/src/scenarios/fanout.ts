import { channelName, channelTopic } from '../topics.js';
import type { WorkerContext } from '../worker/context.js';
import { runMessaging } from './messaging.js';

/** fanout: every client joins one channel; clients 0 … publishers-1 take turns sending to it. */
export function runFanout(ctx: WorkerContext): Promise<void> {
  const topic = channelTopic(channelName(ctx.options.runId, 'fanout'));
  const { publishers } = ctx.options;
  return runMessaging(ctx, {
    topicsOf: () => [topic],
    senderOf: (k) => ({ index: k % publishers, topic }),
  });
}
