import type { RedisClient } from '@realtime/redis';

/** A subscriber connection, and how to know its subscriptions are back after a reconnect. */
export interface SubscriptionSource {
  subscriber: RedisClient;
  /** Subscribes this connection's channels again (or waits behind ioredis's own resubscription); resolves once Redis answered. */
  resubscribe(): Promise<unknown>;
}

export interface SubscriptionRecoveryOptions {
  sources: readonly SubscriptionSource[];
  /** Re-reads what may have been missed while subscriptions were down (counts). */
  reconcile(): Promise<void>;
  /** Tells /readyz whether every source's subscriptions are confirmed. */
  setConfirmed(confirmed: boolean): void;
  /** How long one confirmation attempt may take before it is tried again. */
  attemptTimeoutMs: number;
}

/**
 * Keeps track of whether this node's subscriptions are live, and brings
 * them back after anything that may have dropped them:
 * - the subscriber connection closed (standalone, Sentinel, or the whole
 *   Cluster client) and is ready again;
 * - in a Redis Cluster, one master's subscriber connection was lost
 *   (`-node`), or the subscriber group was rebuilt after a failover or a
 *   slot move (`subscribersReady`, ioredis's public event).
 * Until the resubscription is confirmed, /readyz answers 503. Announcements
 * published meanwhile are lost (pub/sub is at most once), so once it is
 * confirmed the node re-reads its topics' counts and announces any that moved.
 */
/** How long after a pushed `sunsubscribe` the subscriptions are confirmed anyway, when no rebuild event comes. */
const FALLBACK_CONFIRM_MS = 3000;

export function recoverSubscriptions(options: SubscriptionRecoveryOptions): void {
  const confirmed = options.sources.map(() => true);
  const report = (): void => options.setConfirmed(confirmed.every(Boolean));
  options.sources.forEach((source, index) => {
    const { subscriber } = source;
    let generation = 0;
    const lost = (): void => {
      generation += 1;
      confirmed[index] = false;
      report();
    };
    const confirm = (): void => {
      generation += 1;
      const attempt = generation;
      const tryOnce = (): void => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('resubscription not confirmed in time')), options.attemptTimeoutMs);
        });
        Promise.race([source.resubscribe(), timeout]).then(
          async () => {
            clearTimeout(timer);
            if (attempt !== generation) return;
            confirmed[index] = true;
            report();
            await options.reconcile();
          },
          () => {
            clearTimeout(timer);
            // Superseded by a newer loss or recovery, or try again: the connection may still be coming back.
            if (attempt === generation) setTimeout(tryOnce, 200).unref();
          },
        );
      };
      tryOnce();
    };
    let down = false;
    subscriber.on('close', () => {
      down = true;
      lost();
    });
    subscriber.on('ready', () => {
      if (!down) return;
      down = false;
      // ioredis resubscribes on 'ready' without waiting; what we send queues behind its own.
      confirm();
    });
    subscriber.on('-node', lost);
    // A failover or a slot move in a cluster: the old owner pushed `sunsubscribe`, and the
    // channel stays unsubscribed until ioredis has rebuilt its subscriber group
    // ('subscribersReady'). If that rebuild already happened (a periodic slot refresh saw the
    // change first), no event follows: confirm after a while anyway.
    let fallback: NodeJS.Timeout | undefined;
    subscriber.on('nodeError', (err: Error) => {
      if (!/sunsubscribe/.test(err.message)) return;
      lost();
      clearTimeout(fallback);
      fallback = setTimeout(confirm, FALLBACK_CONFIRM_MS).unref();
    });
    subscriber.on('subscribersReady', () => {
      clearTimeout(fallback);
      confirm();
    });
  });
}
