import { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisAuth, RedisEndpoint } from './topology.js';

/**
 * How often every Cluster client re-reads the slot map, so a connection
 * that only subscribes (and so never gets a MOVED reply) still learns of a
 * failover or a slot move within this long.
 */
export const CLUSTER_SLOTS_REFRESH_INTERVAL_MS = 1000;

export interface ClusterClientOptions {
  nodes: readonly RedisEndpoint[];
  auth: RedisAuth;
  /** Per-node connection options (connection name, timeouts). */
  redisOptions: RedisOptions;
  /** Cluster-level options on top (offline queue, auto-pipelining). */
  clusterOptions: ClusterOptions;
  /** One subscriber connection per master, for SSUBSCRIBE (the subscriber client). */
  shardedSubscribers: boolean;
}

/**
 * An ioredis Cluster client for this product: masters only, retrying
 * forever with a 1 s ceiling, refreshing the slot map periodically.
 *
 * Resubscription seam (sharded subscriber only): on a manual failover or a
 * slot move the old owner pushes an unsolicited `sunsubscribe <channel>`,
 * which ioredis reports as a `nodeError` ("Command queue state error …
 * sunsubscribe") while keeping the channel in its subscriber group. A slot
 * map refresh right then makes the group resubscribe every channel on its
 * slot's current owner (ioredis 5.11: ClusterSubscriberGroup.reset →
 * _resubscribe), instead of waiting for the periodic refresh. Pinned by
 * the cluster fault tests (apps/server/test/cluster-faults.test.ts).
 */
export function createClusterClient(options: ClusterClientOptions): Cluster {
  const { auth } = options;
  const cluster = new Cluster(
    options.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      ...options.clusterOptions,
      lazyConnect: true,
      scaleReads: 'master',
      shardedSubscribers: options.shardedSubscribers,
      slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_INTERVAL_MS,
      slotsRefreshTimeout: 1000,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      // TLS certificates name hosts, not the addresses CLUSTER SLOTS answers with (managed offerings).
      ...(auth.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
      redisOptions: {
        ...options.redisOptions,
        // The subscriber's connection to each master opens with the slot map, not on a first SSUBSCRIBE:
        // a lazily opened one made a member's first subscription on that master take a new TCP (and TLS)
        // handshake, and messages published to the room meanwhile were lost to this node.
        ...(options.shardedSubscribers ? { lazyConnect: false } : {}),
        ...(auth.username === undefined ? {} : { username: auth.username }),
        ...(auth.password === undefined ? {} : { password: auth.password }),
        ...(auth.tls ? { tls: {} } : {}),
      },
    },
  );
  if (options.shardedSubscribers) {
    cluster.on('nodeError', (err: Error) => {
      if (/sunsubscribe|MOVED|ASK/.test(err.message)) cluster.refreshSlotsCache();
    });
  }
  return cluster;
}
