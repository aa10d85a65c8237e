import { delay } from '../clock.js';
import { stableClientsOf } from '../options.js';
import { channelName, channelTopic } from '../topics.js';
import type { WorkerContext } from '../worker/context.js';
import { runMessaging } from './messaging.js';
import { seededRandom } from './random.js';

/** What the churning clients did, one worker. */
export interface ChurnWorkerStats {
  churners: number;
  leaves: number;
  rejoins: number;
  disconnects: number;
  reconnects: number;
}

/** A churner stays a member this long before leaving or disconnecting (ms). */
export const CHURN_HOLD_MS: readonly [min: number, max: number] = [1000, 3000];
/** …and is away this long before it comes back (ms). */
export const CHURN_AWAY_MS: readonly [min: number, max: number] = [50, 250];

export function mergeChurn(stats: readonly (ChurnWorkerStats | null)[]): ChurnWorkerStats | null {
  const present = stats.filter((s): s is ChurnWorkerStats => s !== null);
  if (present.length === 0) return null;
  return present.reduce((a, b) => ({
    churners: a.churners + b.churners,
    leaves: a.leaves + b.leaves,
    rejoins: a.rejoins + b.rejoins,
    disconnects: a.disconnects + b.disconnects,
    reconnects: a.reconnects + b.reconnects,
  }));
}

/**
 * churn: one channel. The first half of the clients stay members the whole
 * run and the publishers are among them; the other half, while messages
 * flow, keep cycling: stay, then either leave-channel and join again, or
 * disconnect, reconnect (a new socket) and join again. Losses count only for
 * receivers that were members for the whole span of a message (see
 * loss-accounting.ts).
 */
export function runChurn(ctx: WorkerContext): Promise<void> {
  const { options } = ctx;
  const topic = channelTopic(channelName(options.runId, 'churn'));
  const stable = stableClientsOf(options.clients);
  const stats: ChurnWorkerStats = { churners: 0, leaves: 0, rejoins: 0, disconnects: 0, reconnects: 0 };
  ctx.churn = stats;
  const between = (random: () => number, [min, max]: readonly [number, number]): number => min + random() * (max - min);

  const churnOne = async (index: number, stop: AbortSignal): Promise<void> => {
    const client = ctx.clientFor(index);
    const random = seededRandom(index * 7919 + 17);
    for (let cycle = 0; !stop.aborted; cycle++) {
      await delay(between(random, CHURN_HOLD_MS), stop);
      if (stop.aborted) return;
      if (cycle % 2 === 0 && client.connected) {
        await ctx.leave(client, topic);
        stats.leaves++;
        await delay(between(random, CHURN_AWAY_MS), stop);
        if (stop.aborted) return;
        if ((await ctx.join(client, topic)).ok) stats.rejoins++;
      } else {
        ctx.disconnect(client);
        stats.disconnects++;
        await delay(between(random, CHURN_AWAY_MS), stop);
        if (stop.aborted) return;
        if (await ctx.connect(client, 'reconnect')) {
          stats.reconnects++;
          await ctx.join(client, topic);
        }
      }
    }
  };

  return runMessaging(ctx, {
    topicsOf: () => [topic],
    senderOf: (k) => ({ index: k % options.publishers, topic }),
    during: async (c, stop) => {
      const churners = c.indices.filter((index) => index >= stable);
      stats.churners = churners.length;
      await Promise.all(churners.map((index) => churnOne(index, stop)));
    },
  });
}
