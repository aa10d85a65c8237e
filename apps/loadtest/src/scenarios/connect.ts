import { channelName, channelTopic } from '../topics.js';
import type { WorkerContext } from '../worker/context.js';

/**
 * connect: the connection + join ramp. Client i connects on the global
 * schedule (--connect-rate) and joins channel i mod --channels at once;
 * the report gives connects and joins per second and failures by reason.
 */
export async function runConnect(ctx: WorkerContext): Promise<void> {
  const { options } = ctx;
  const topics = Array.from({ length: options.channels }, (_, n) => channelTopic(channelName(options.runId, `c${n}`)));
  const start = await ctx.barrier('start', null);
  ctx.phase = 'connecting';
  await ctx.ramp(ctx.indices, start.at, async (client) => {
    await ctx.join(client, topics[client.index % topics.length]!);
  });
}
