import { spawnChild, type Exit } from './child.js';
import { SERVER_MAIN } from './paths.js';

export type LogEntry = Record<string, unknown>;

/** One server node process (`node apps/server/dist/main.js`). */
export interface LocalNode {
  readonly nodeId: string;
  readonly port: number;
  /** The node itself, bypassing the load balancer. */
  readonly url: string;
  /**
   * The port serving /metrics, from `metricsPort` in the node's listening
   * line: its own (METRICS_PORT, 0 here unless `env` says otherwise), never
   * behind the load balancer. Undefined if the line lacks it.
   */
  readonly metricsPort: number | undefined;
  /** Where Prometheus scrapes this node: the metrics port (the main port when the line names none). */
  readonly metricsUrl: string;
  readonly pid: number | undefined;
  /** Parsed JSON log lines so far (empty unless `keepLogs`). */
  readonly logs: readonly LogEntry[];
  readonly exited: Promise<Exit>;
  readonly running: boolean;
  /** SIGTERM drains, SIGKILL crashes. */
  signal(signal: NodeJS.Signals): void;
  /** The first log line (already seen or to come) matching `predicate`. Needs `keepLogs`. */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** SIGTERM (drain), SIGKILL if it outlives `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
}

export interface LocalNodeOptions {
  nodeId: string;
  redisUrl?: string;
  /** The node's listen address. Default 127.0.0.1. */
  host?: string;
  /** The node's port. Default 0: the node picks one and logs it. */
  port?: number;
  /** Environment added to the node's (PORT, HOST, NODE_ID and REDIS_URL are set from the options; METRICS_PORT defaults to 0). */
  env?: Record<string, string>;
  /** Keep every parsed log line in `logs` (tests). Default true. */
  keepLogs?: boolean;
  onLog?: (entry: LogEntry) => void;
}

export async function startServerNode(options: LocalNodeOptions): Promise<LocalNode> {
  const host = options.host ?? '127.0.0.1';
  const keepLogs = options.keepLogs ?? true;
  const logs: LogEntry[] = [];
  const waiters = new Set<(entry: LogEntry) => void>();
  let stderr = '';
  let onListening!: (ports: { port: number; metricsPort: number | undefined }) => void;
  const listening = new Promise<{ port: number; metricsPort: number | undefined }>((resolve) => (onListening = resolve));

  const child = spawnChild({
    name: options.nodeId,
    command: process.execPath,
    args: [SERVER_MAIN],
    env: {
      ...process.env,
      // /metrics on a port of its own, as in compose and k8s, so the public
      // port behind the load balancer has none. 0: several nodes share this
      // host, so each takes a free one and logs it in its listening line.
      METRICS_PORT: '0',
      ...options.env,
      PORT: String(options.port ?? 0),
      HOST: host,
      NODE_ID: options.nodeId,
      ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
    },
    onLine: (line, stream) => {
      if (stream === 'stderr') {
        if (stderr.length < 10_000) stderr += `${line}\n`;
        return;
      }
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        entry = { raw: line };
      }
      if (keepLogs) logs.push(entry);
      if (entry.event === 'listening' && typeof entry.port === 'number') {
        onListening({ port: entry.port, metricsPort: typeof entry.metricsPort === 'number' ? entry.metricsPort : undefined });
      }
      options.onLog?.(entry);
      for (const waiter of waiters) waiter(entry);
    },
  });

  const { port, metricsPort } = await Promise.race([
    listening,
    child.exited.then(({ code, signal }) => {
      throw new Error(`node ${options.nodeId} exited (${code ?? signal}) before listening: ${stderr}${JSON.stringify(logs.slice(-5))}`);
    }),
  ]);

  return {
    nodeId: options.nodeId,
    port,
    url: `http://${host}:${port}`,
    metricsPort,
    metricsUrl: `http://${host}:${metricsPort ?? port}/metrics`,
    pid: child.pid,
    logs,
    exited: child.exited,
    get running() {
      return child.running;
    },
    signal: (signal) => child.signal(signal),
    waitForLog(predicate, timeoutMs = 15_000) {
      const seen = logs.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`node ${options.nodeId}: no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (entry: LogEntry): void => {
          if (!predicate(entry)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(entry);
        };
        waiters.add(waiter);
      });
    },
    stop: (graceMs = 15_000) => child.stop('SIGTERM', graceMs),
  };
}
