import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { spawnChild, type Exit } from './child.js';
import { freePort, waitForPort } from './net.js';
import { NGINX_CONFIG } from './paths.js';

/** A real nginx in front of the nodes, running deploy/nginx/nginx.conf. */
export interface LocalNginx {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** nginx's prefix: nginx.conf (a symlink to the shared file), upstream.conf, server.conf, temp dirs. */
  readonly runDir: string;
  /** The access log (one line per request, with the node that served it). */
  readonly accessLog: string;
  readonly exited: Promise<Exit>;
  stop(): Promise<Exit>;
}

export interface LocalNginxOptions {
  /** `host:port` of every node. */
  upstreams: readonly string[];
  /** An existing directory nginx may own (temp dirs, pid file, generated includes). */
  runDir: string;
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** The shared configuration. Default: deploy/nginx/nginx.conf. */
  configPath?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export function upstreamConf(upstreams: readonly string[]): string {
  return [
    '# Written by apps/cluster (npm run cluster): the node processes on loopback.',
    ...upstreams.map((address) => `server ${address} max_fails=1 fail_timeout=5s;`),
    '',
  ].join('\n');
}

export function serverConf(host: string, port: number): string {
  return [
    '# Written by apps/cluster (npm run cluster).',
    `listen ${host}:${port};`,
    // Relative to nginx's prefix (the run directory). Not /dev/stdout as in
    // compose: a child's stdout here is a socket, which nginx cannot open.
    'access_log access.log realtime;',
    '',
  ].join('\n');
}

export async function startNginx(options: LocalNginxOptions): Promise<LocalNginx> {
  const binary = requireBinary('nginx', 'nginx');
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const { runDir } = options;
  mkdirSync(runDir, { recursive: true });
  // The shared file, not a copy: its relative includes resolve next to the symlink.
  symlinkSync(options.configPath ?? NGINX_CONFIG, join(runDir, 'nginx.conf'));
  writeFileSync(join(runDir, 'upstream.conf'), upstreamConf(options.upstreams));
  writeFileSync(join(runDir, 'server.conf'), serverConf(host, port));

  const args = [
    '-e',
    'stderr',
    '-p',
    `${runDir}/`,
    '-c',
    join(runDir, 'nginx.conf'),
    '-g',
    `daemon off; pid ${join(runDir, 'nginx.pid')};`,
  ];
  const test = spawnSync(binary, [...args, '-t'], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx rejected the configuration:\n${test.stderr}${test.stdout}`);

  let stderr = '';
  const child = spawnChild({
    name: 'nginx',
    command: binary,
    args,
    onLine: (line, stream) => {
      if (stream === 'stderr' && stderr.length < 10_000) stderr += `${line}\n`;
      options.onLine?.(line, stream);
    },
  });
  try {
    await waitForPort(host, port, child.exited);
  } catch (err) {
    await child.stop('SIGKILL');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${stderr}`, { cause: err });
  }
  return {
    host,
    port,
    url: `http://${host}:${port}`,
    runDir,
    accessLog: join(runDir, 'access.log'),
    exited: child.exited,
    // SIGTERM is nginx's fast shutdown: open connections are closed, as clients of a dying balancer see it.
    stop: () => child.stop('SIGTERM', 5_000),
  };
}
