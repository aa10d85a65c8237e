import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { spawnChild, type Exit } from './child.js';
import { freePort, waitForPort } from './net.js';
import { LB_CONFIG } from './paths.js';

/** A real HAProxy in front of the nodes, running deploy/haproxy/haproxy.cfg. */
export interface LocalLoadBalancer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** servers.cfg (the generated `backend realtime`) and access.log. */
  readonly runDir: string;
  /** The access log: one line per request, naming the node that served it (`realtime/<nodeId>`) or `<NOSRV>`. */
  readonly accessLog: string;
  readonly exited: Promise<Exit>;
  stop(): Promise<Exit>;
}

export interface LoadBalancerServer {
  /** The server's name in the access log and HAProxy's messages: the node id. */
  name: string;
  /** `host:port` of the node's public (Socket.IO) port, never its metrics port. */
  address: string;
}

export interface LocalLoadBalancerOptions {
  servers: readonly LoadBalancerServer[];
  /** An existing or new directory for servers.cfg and the access log. */
  runDir: string;
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** The shared configuration. Default: deploy/haproxy/haproxy.cfg. */
  configPath?: string;
  /** Every stdout (access log) and stderr (HAProxy's own messages) line. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** The topology file of `npm run cluster`: the backend with one `server` line per node, nothing else. */
export function serversConf(servers: readonly LoadBalancerServer[]): string {
  return [
    '# Written by apps/cluster (npm run cluster): the node processes on loopback.',
    '# Every setting comes from the `defaults` of haproxy.cfg.',
    'backend realtime',
    ...servers.map(({ name, address }) => `    server ${name} ${address}`),
    '',
  ].join('\n');
}

export async function startLoadBalancer(options: LocalLoadBalancerOptions): Promise<LocalLoadBalancer> {
  const binary = requireBinary('haproxy', 'haproxy');
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const { runDir } = options;
  mkdirSync(runDir, { recursive: true });
  const serversPath = join(runDir, 'servers.cfg');
  writeFileSync(serversPath, serversConf(options.servers));
  // An IPv6 literal needs brackets in HAProxy's address:port syntax.
  const bind = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const env = { ...process.env, LB_BIND: bind };
  // -db: stay in the foreground, so this process owns it and sees it exit.
  const args = ['-db', '-f', options.configPath ?? LB_CONFIG, '-f', serversPath];

  const check = spawnSync(binary, ['-c', '-q', ...args.slice(1)], { env, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy rejected the configuration:\n${check.stderr}${check.stdout}`);

  const accessLog = join(runDir, 'access.log');
  const log = createWriteStream(accessLog, { flags: 'a' });
  let stderr = '';
  const child = spawnChild({
    name: 'haproxy',
    command: binary,
    args,
    env,
    onLine: (line, stream) => {
      // `log stdout` in haproxy.cfg: the access log arrives on stdout, one request per line.
      if (stream === 'stdout') log.write(`${line}\n`);
      else if (stderr.length < 10_000) stderr += `${line}\n`;
      options.onLine?.(line, stream);
    },
  });
  const exited = child.exited.then(async (exit) => {
    await new Promise<void>((resolve) => log.end(resolve));
    return exit;
  });
  try {
    await waitForPort(host, port, child.exited);
  } catch (err) {
    await child.stop('SIGKILL');
    throw new Error(`haproxy did not start: ${(err as Error).message}\n${stderr}`, { cause: err });
  }
  return {
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    runDir,
    accessLog,
    exited,
    // SIGTERM is HAProxy's hard stop: open connections are closed, as clients of a dying balancer see it.
    stop: async () => {
      await child.stop('SIGTERM', 5_000);
      return exited;
    },
  };
}
