import type { RedisClient } from '@realtime/redis';

export interface SubscriptionRecoveryOptions {
  subscriber: RedisClient;
  /** Subscribes this node's channels again; resolves once Redis confirmed them. */
  resubscribe(): Promise<void>;
  /** Re-reads what may have been missed while subscriptions were down (counts). */
  reconcile(): Promise<void>;
  /** Tells /readyz whether every subscription is confirmed. */
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
export function recoverSubscriptions(options: SubscriptionRecoveryOptions): void {
  const { subscriber } = options;
  let generation = 0;
  const lost = (): void => {
    generation += 1;
    options.setConfirmed(false);
  };
  const confirm = (): void => {
    generation += 1;
    const attempt = generation;
    const tryOnce = (): void => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('resubscription not confirmed in time')), options.attemptTimeoutMs);
      });
      Promise.race([options.resubscribe(), timeout]).then(
        async () => {
          clearTimeout(timer);
          if (attempt !== generation) return;
          options.setConfirmed(true);
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
    // ioredis resubscribes on 'ready' without waiting; ours queue behind its own.
    confirm();
  });
  subscriber.on('-node', lost);
  subscriber.on('subscribersReady', confirm);
}
