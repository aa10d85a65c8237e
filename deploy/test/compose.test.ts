import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { NGINX_CONFIG, REPO_ROOT, requireBinary } from '@realtime/local-cluster';
import { registerTeardown } from '@realtime/testing';
import { loadConfig } from '../../apps/server/src/index.js';
import { startTestNode } from '../../apps/server/test/support/start-test-node.js';
import { findAll, nginxSizeBytes, nginxTimeMs, parseNginxFile, type Directive } from './support/nginx-config.js';
import { serverEnvNames } from './support/server-settings.js';

/**
 * docker-compose.yml, checked as far as a machine without a Docker engine
 * allows: docker-compose 1.29 validates and normalises it offline, and the
 * result must agree with the server's configuration, the Dockerfile and the
 * nginx configuration the local cluster tests run.
 */
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  container_name?: string;
  ports?: { published: number | string; target: number }[];
  expose?: (string | number)[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
  volumes?: string[];
  stop_grace_period?: string;
}

let services: Record<string, ComposeService>;

beforeAll(() => {
  const binary = requireBinary('docker-compose', 'docker-compose');
  // Without LB_PORT, LOG_LEVEL or CORS_ORIGINS from this shell: the file's own defaults.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  const result = spawnSync(binary, ['-f', 'docker-compose.yml', 'config'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker-compose config rejected docker-compose.yml:\n${result.stderr}`);
  services = (parseYaml(result.stdout) as { services: Record<string, ComposeService> }).services;
});

function durationMs(value: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(value);
  if (m === null) throw new Error(`not a compose duration: ${value}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

/** `http://127.0.0.1:PORT/path` inside a healthcheck command. */
function healthcheckUrl(test: string[]): URL {
  const match = /https?:\/\/[^'"\s)]+/.exec(test.join(' '));
  if (match === null) throw new Error(`no URL in healthcheck ${test.join(' ')}`);
  return new URL(match[0]);
}

describe('docker-compose.yml', () => {
  it('is valid for docker-compose and has redis, server (3 replicas, scalable) and one load balancer', () => {
    expect(Object.keys(services).sort()).toEqual(['lb', 'redis', 'server']);
    const server = services.server!;
    expect(server.deploy?.replicas).toBe(3);
    // --scale server=N needs replicas that do not claim a fixed name or host port.
    expect(server.container_name).toBeUndefined();
    expect(server.ports).toBeUndefined();
    expect(services.lb!.container_name).toBeUndefined();
    expect(server.build?.context).toBe(REPO_ROOT.replace(/\/$/, ''));
    expect(server.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(services.lb!.ports).toHaveLength(1);
    expect(services.server!.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(services.lb!.depends_on).toEqual({ server: { condition: 'service_healthy' } });
    expect(services.redis!.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('the server environment is what the server reads, valid, and agrees with Redis, the drain and the exposed port', () => {
    const server = services.server!;
    const environment = Object.fromEntries(Object.entries(server.environment ?? {}).map(([k, v]) => [k, v ?? '']));
    const known = serverEnvNames();
    for (const name of Object.keys(environment)) expect(known, `${name} is not read by apps/server/src/config.ts`).toContain(name);
    const config = loadConfig(environment);
    expect(server.expose?.map(String)).toEqual([String(config.port)]);
    const redisUrl = new URL(config.redis?.url ?? '');
    expect(redisUrl.hostname).toBe('redis');
    expect(redisUrl.port || '6379').toBe('6379');
    expect(services.redis!.ports).toBeUndefined();
    // Docker's stop waits stop_grace_period before SIGKILL: the drain must fit in it.
    expect(durationMs(server.stop_grace_period as string)).toBeGreaterThan(config.shutdownGraceMs);
    // The container's readiness check asks this node's /readyz on its PORT.
    const ready = healthcheckUrl(server.healthcheck!.test);
    expect(ready.pathname).toBe('/readyz');
    expect(Number(ready.port)).toBe(config.port);
  });

  it('the load balancer mounts the very nginx.conf the local cluster runs, with include files for every include', () => {
    const lb = services.lb!;
    const mounts = new Map(
      (lb.volumes ?? []).map((volume) => {
        const [source, target] = volume.split(':') as [string, string];
        return [target, source];
      }),
    );
    expect(mounts.get('/etc/nginx/nginx.conf')).toBe(NGINX_CONFIG);
    const includes = findAll(parseNginxFile(NGINX_CONFIG), 'include').map((d) => d.args[0] as string);
    expect(includes.sort()).toEqual(['server.conf', 'upstream.conf']);
    for (const include of includes) {
      // Relative includes resolve next to nginx.conf: /etc/nginx/ in the container.
      expect(mounts.get(`/etc/nginx/${include}`)).toBe(join(REPO_ROOT, 'deploy/nginx/compose', include));
    }
  });

  it('nginx sends to every replica of `server` on its PORT, and publishes the port it listens on', () => {
    const config = loadConfig(Object.fromEntries(Object.entries(services.server!.environment ?? {}).map(([k, v]) => [k, v ?? ''])));
    const upstream = parseNginxFile(join(REPO_ROOT, 'deploy/nginx/compose/upstream.conf'));
    expect(upstream.map((d) => [d.name, d.args[0]])).toEqual([['server', `server:${config.port}`]]);
    const listen = findAll(parseNginxFile(join(REPO_ROOT, 'deploy/nginx/compose/server.conf')), 'listen');
    expect(listen).toHaveLength(1);
    const lbPort = services.lb!.ports![0]!;
    expect(lbPort.target).toBe(Number(listen[0]!.args[0]));
    expect(Number(lbPort.published)).toBe(8080);
    const health = healthcheckUrl(services.lb!.healthcheck!.test);
    expect(Number(health.port)).toBe(lbPort.target);
    const locations = findAll(parseNginxFile(NGINX_CONFIG), 'location').map((d) => d.args.join(' '));
    expect(locations).toContain(`= ${health.pathname}`);
  });

  it('nginx -t accepts nginx.conf with the compose include files (Docker’s DNS name swapped for a local address)', () => {
    const nginx = requireBinary('nginx', 'nginx');
    const dir = mkdtempSync(join(tmpdir(), 'nginx-compose-'));
    registerTeardown(() => rmSync(dir, { recursive: true, force: true }));
    symlinkSync(NGINX_CONFIG, join(dir, 'nginx.conf'));
    writeFileSync(join(dir, 'server.conf'), readFileSync(join(REPO_ROOT, 'deploy/nginx/compose/server.conf')));
    // `server` resolves only on Docker's network; nginx -t resolves upstream names.
    const upstream = readFileSync(join(REPO_ROOT, 'deploy/nginx/compose/upstream.conf'), 'utf8');
    writeFileSync(join(dir, 'upstream.conf'), upstream.replace(/^(\s*server\s+)server:/m, '$1127.0.0.1:'));
    // A container's stdout is a pipe or a file (the access log goes to /dev/stdout), not a socket.
    const stdout = openSync(join(dir, 'stdout'), 'w');
    const check = spawnSync(nginx, ['-e', 'stderr', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid;`, '-t'], {
      stdio: ['ignore', stdout, 'pipe'],
      encoding: 'utf8',
    });
    closeSync(stdout);
    expect(check.status, check.stderr).toBe(0);
  });
});

describe('deploy/nginx/nginx.conf, against what Socket.IO and the server need', () => {
  const http = (): Directive => findAll(parseNginxFile(NGINX_CONFIG), 'http')[0]!;
  const directive = (name: string): string[] => {
    const found = findAll([http()], name);
    expect(found, name).toHaveLength(1);
    return found[0]!.args;
  };

  it('sticky: every request of a client goes to the same node (hash of the client address, consistent)', () => {
    const upstream = findAll([http()], 'upstream');
    expect(upstream).toHaveLength(1);
    expect(directive('hash')).toEqual(['$remote_addr', 'consistent']);
    expect(directive('proxy_pass')).toEqual([`http://${upstream[0]!.args[0]}`]);
  });

  it('passes WebSocket upgrades, holds long polls past the ping interval, and takes the largest frame the server accepts', async () => {
    expect(directive('proxy_http_version')).toEqual(['1.1']);
    const headers = findAll([http()], 'proxy_set_header').map((d) => d.args);
    expect(headers).toContainEqual(['Upgrade', '$http_upgrade']);
    expect(headers).toContainEqual(['Connection', '$connection_upgrade']);
    const map = findAll([http()], 'map').find((d) => d.args[1] === '$connection_upgrade')!;
    expect(map.args[0]).toBe('$http_upgrade');
    expect(map.children!.find((d) => d.name === 'default')?.args).toEqual(['upgrade']);

    // The real server's heartbeat settings: a poll is held up to pingInterval, a peer is dead after pingInterval + pingTimeout.
    const { node } = await startTestNode();
    const { pingInterval, pingTimeout } = node.io.engine.opts as { pingInterval: number; pingTimeout: number };
    for (const name of ['proxy_read_timeout', 'proxy_send_timeout']) {
      expect(nginxTimeMs(directive(name)[0]!), name).toBeGreaterThan(pingInterval + pingTimeout);
    }
    expect(directive('proxy_buffering')).toEqual(['off']);
    expect(nginxSizeBytes(directive('client_max_body_size')[0]!)).toBeGreaterThan(node.config.maxHttpBufferSizeBytes);
    expect(node.io.engine.opts.maxHttpBufferSize).toBe(node.config.maxHttpBufferSizeBytes);
  });
});
