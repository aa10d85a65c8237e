import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoadBalancer, type LocalLoadBalancer } from './load-balancer.js';
import { startRedis, type LocalRedis } from './redis.js';
import { startServerNode, type LocalNode, type LogEntry } from './server-node.js';

export interface LocalClusterOptions {
  /** Server nodes. Default 3. */
  nodes?: number;
  /** The load balancer's listen address. Default 127.0.0.1. */
  host?: string;
  /** The load balancer's port; 0 picks a free one. Default 0. */
  port?: number;
  /** Use this Redis; unset starts a redis-server on a free loopback port. */
  redisUrl?: string;
  /** Environment for every node (LOG_LEVEL, REDIS_KEY_PREFIX, SHUTDOWN_GRACE_MS, …). */
  env?: Record<string, string>;
  /** Node ids are `<prefix>-1` … `<prefix>-N`. Default `node`. */
  nodeIdPrefix?: string;
  /** Keep parsed node logs in memory (tests read them). Default true. */
  keepLogs?: boolean;
  /** Progress messages, one per step. */
  onProgress?: (message: string) => void;
  onNodeLog?: (nodeId: string, entry: LogEntry) => void;
  /** HAProxy's stdout (the access log) and stderr lines. */
  onLoadBalancerLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** Redis, N nodes and HAProxy on loopback: the docker-compose topology without Docker. */
export interface LocalCluster {
  /** Through the load balancer. */
  readonly url: string;
  readonly redisUrl: string;
  /** The redis-server this cluster started; undefined with `redisUrl`. */
  readonly redis: LocalRedis | undefined;
  readonly nodes: readonly LocalNode[];
  readonly lb: LocalLoadBalancer;
  /** Stops the load balancer, drains the nodes (SIGTERM), stops Redis, removes the run directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`nodes must be a positive integer, got ${count}`);
  const progress = options.onProgress ?? (() => undefined);
  const runDir = mkdtempSync(join(tmpdir(), 'realtime-cluster-'));
  let redis: LocalRedis | undefined;
  const nodes: LocalNode[] = [];
  let lb: LocalLoadBalancer | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (lb !== undefined) {
        progress('stopping haproxy');
        await lb.stop();
      }
      if (nodes.length > 0) {
        progress(`draining ${nodes.filter((n) => n.running).length} node(s) (SIGTERM)`);
        await Promise.all(nodes.map((node) => node.stop()));
      }
      if (redis !== undefined) {
        progress('stopping redis-server');
        await redis.stop();
      }
      rmSync(runDir, { recursive: true, force: true });
      progress('stopped');
    })();
    return stopping;
  };

  try {
    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      progress('starting redis-server');
      redis = await startRedis();
      redisUrl = redis.url;
      progress(`redis-server ready on ${redis.url}`);
    } else {
      progress(`using Redis at ${redisUrl}`);
    }

    progress(`starting ${count} node(s)`);
    const prefix = options.nodeIdPrefix ?? 'node';
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => {
        const nodeId = `${prefix}-${i + 1}`;
        return startServerNode({
          nodeId,
          redisUrl: redisUrl,
          ...(options.env === undefined ? {} : { env: options.env }),
          keepLogs: options.keepLogs ?? true,
          ...(options.onNodeLog === undefined ? {} : { onLog: (entry: LogEntry) => options.onNodeLog?.(nodeId, entry) }),
        }).then((node) => {
          nodes.push(node);
          progress(`${node.nodeId} listening on ${node.url}`);
          return node;
        });
      }),
    );
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId, 'en', { numeric: true }));

    progress('starting haproxy');
    lb = await startLoadBalancer({
      // The public port only: the metrics port is never behind the load balancer.
      servers: nodes.map((node) => ({ name: node.nodeId, address: `127.0.0.1:${node.port}` })),
      runDir: join(runDir, 'haproxy'),
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      ...(options.onLoadBalancerLine === undefined ? {} : { onLine: options.onLoadBalancerLine }),
    });
    progress(`haproxy listening on ${lb.url}`);
    return { url: lb.url, redisUrl, redis, nodes, lb, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
