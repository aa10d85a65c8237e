#!/usr/bin/env node
/**
 * `npm run cluster [-- --nodes N --port P --host H --verbose]`: the
 * docker-compose topology on this machine, without Docker. Starts its own
 * redis-server (or uses REDIS_URL), N nodes and HAProxy with
 * deploy/haproxy/haproxy.cfg, prints the URL, and stops everything on
 * Ctrl-C / SIGTERM (a second signal kills at once).
 */
import { parseArgs } from 'node:util';
import { startLocalCluster, type LocalCluster } from './cluster.js';

const USAGE = `usage: npm run cluster -- [--nodes N] [--port PORT] [--host HOST] [--verbose]

  --nodes N      server nodes (default 3)
  --port PORT    load balancer port (default 8080; 0 = any free port)
  --host HOST    load balancer address (default 127.0.0.1)
  --verbose      print every node log line and every load-balancer access line
                 (default: warnings and errors)

Environment: REDIS_URL to use an existing Redis instead of starting redis-server;
any server setting (LOG_LEVEL, CORS_ORIGINS, …, see the README) is passed to the nodes.`;

function positiveInteger(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`--${name} must be an integer ≥ ${min}, got "${raw}"\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        nodes: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const nodes = positiveInteger('nodes', values.nodes, 3, 1);
  const port = positiveInteger('port', values.port, 8080, 0);
  const verbose = values.verbose;
  const say = (message: string): void => void process.stdout.write(`[cluster] ${message}\n`);

  let cluster: LocalCluster | undefined;
  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      say(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    shuttingDown = true;
    say(`${signal}: stopping (press Ctrl-C again to kill at once)`);
    void (cluster?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`[cluster] stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  try {
    cluster = await startLocalCluster({
      nodes,
      port,
      host: values.host ?? '127.0.0.1',
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      keepLogs: false,
      onProgress: say,
      onNodeLog: (nodeId, entry) => {
        const level = typeof entry.level === 'number' ? entry.level : 30;
        // pino levels: 40 warn, 50 error, 60 fatal.
        if (verbose || level >= 40) process.stdout.write(`[${nodeId}] ${JSON.stringify(entry)}\n`);
      },
      // stdout is the access log (one line per request: in the file printed below);
      // stderr is HAProxy's own warnings and alerts (a node going down, …).
      onLoadBalancerLine: (line, stream) => {
        if (verbose || stream === 'stderr') process.stdout.write(`[haproxy] ${line}\n`);
      },
    });
  } catch (err) {
    process.stderr.write(`[cluster] could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (shuttingDown) return;

  for (const node of cluster.nodes) {
    void node.exited.then(({ code, signal }) => {
      if (!shuttingDown) say(`${node.nodeId} exited (${code ?? signal}); haproxy sends its clients to the other nodes`);
    });
  }
  void cluster.lb.exited.then(({ code, signal }) => {
    if (shuttingDown) return;
    say(`haproxy exited (${code ?? signal}): stopping`);
    shutdown('SIGTERM');
  });
  say(`ready: ${cluster.url}  (${cluster.nodes.length} nodes behind haproxy, Redis ${cluster.redisUrl})`);
  say(`nodes: ${cluster.nodes.map((n) => `${n.nodeId} ${n.url}`).join(', ')}`);
  say(`metrics (not behind haproxy): ${cluster.nodes.map((n) => `${n.nodeId} ${n.metricsUrl}`).join(', ')}`);
  say(`haproxy access log: ${cluster.lb.accessLog}`);
  say('Ctrl-C to stop');
}

void main();
