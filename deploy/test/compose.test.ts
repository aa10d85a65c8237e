import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LB_CONFIG, REPO_ROOT, requireBinary } from '@realtime/local-cluster';
import { loadConfig } from '../../apps/server/src/index.js';
import { startTestNode } from '../../apps/server/test/support/start-test-node.js';
import { argsOf, haproxyTimeMs, onlyArgs, parseHaproxyFile, section, type Section } from './support/haproxy-config.js';
import { serverEnvNames } from './support/server-settings.js';

/**
 * docker-compose.yml, checked as far as a machine without a Docker engine
 * allows: docker-compose 1.29 validates and normalises it offline, and the
 * result must agree with the server's configuration, the Dockerfile and the
 * HAProxy configuration the local cluster tests run.
 */
const COMPOSE_SERVERS = join(REPO_ROOT, 'deploy/haproxy/compose/servers.cfg');

interface ComposeService {
  image?: string;
  command?: string[];
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

/** The files of `-f FILE` arguments, in order. */
function configFiles(command: readonly string[]): string[] {
  return command.flatMap((arg, i) => (arg === '-f' && command[i + 1] !== undefined ? [command[i + 1] as string] : []));
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
    // Metrics on a port of their own, so the public port (behind the load balancer) has no /metrics.
    expect(config.metricsPort).toBe(9464);
    // The public port and the metrics port, neither published.
    expect(server.expose?.map(String)).toEqual([String(config.port), String(config.metricsPort)]);
    const redisUrl = new URL(config.redis?.kind === 'standalone' ? config.redis.url : '');
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

  it('the load balancer runs the very haproxy.cfg the local cluster runs, then this topology’s servers.cfg', () => {
    const lb = services.lb!;
    const mounts = new Map(
      (lb.volumes ?? []).map((volume) => {
        const [source, target] = volume.split(':') as [string, string];
        return [target, source];
      }),
    );
    expect(lb.image).toMatch(/^haproxy:2\.6[.-]/);
    // The image's entrypoint prepends `haproxy -W -db`; the files load in this order.
    const files = configFiles(lb.command ?? []);
    expect(files.map((file) => mounts.get(file))).toEqual([LB_CONFIG, COMPOSE_SERVERS]);
  });

  it('HAProxy sends to every replica of `server` on its PORT (never the metrics port), and publishes the port it binds', () => {
    const config = loadConfig(Object.fromEntries(Object.entries(services.server!.environment ?? {}).map(([k, v]) => [k, v ?? ''])));
    const servers = parseHaproxyFile(COMPOSE_SERVERS);
    // Only server lines: every setting is the shared file's, so both topologies balance alike.
    const backend = section(servers, 'backend', 'realtime');
    expect(backend.lines.map((line) => line[0])).toEqual(['server-template']);
    const [, , , address, ...params] = backend.lines[0]!; // server-template <prefix> <count> <address> <params>
    expect(address).toBe(`server:${config.port}`);
    expect(address).not.toMatch(/:9464$/);
    // Docker's DNS, so --scale on a running stack needs no restart.
    const resolver = params[params.indexOf('resolvers') + 1];
    expect(onlyArgs(section(servers, 'resolvers', resolver), 'nameserver')[1]).toBe('127.0.0.11:53');

    const bind = services.lb!.environment?.LB_BIND as string;
    expect(onlyArgs(section(parseHaproxyFile(LB_CONFIG), 'frontend', 'public'), 'bind')).toEqual(['${LB_BIND}']);
    const lbPort = services.lb!.ports![0]!;
    expect(lbPort.target).toBe(Number(/:(\d+)$/.exec(bind)?.[1]));
    expect(Number(lbPort.published)).toBe(8080);
    const health = healthcheckUrl(services.lb!.healthcheck!.test);
    expect(Number(health.port)).toBe(lbPort.target);
    const answered = argsOf(section(parseHaproxyFile(LB_CONFIG), 'frontend', 'public'), 'http-request', 'return');
    expect(answered.some((args) => args.join(' ').endsWith(`if { path ${health.pathname} }`) && args[1] === '200')).toBe(true);
  });

  it('haproxy -c accepts haproxy.cfg with the compose servers.cfg and LB_BIND', () => {
    const haproxy = requireBinary('haproxy', 'haproxy');
    const check = spawnSync(haproxy, ['-c', '-f', LB_CONFIG, '-f', COMPOSE_SERVERS], {
      env: { PATH: process.env.PATH ?? '', LB_BIND: services.lb!.environment?.LB_BIND as string },
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
    // Warnings are mistakes too (a directive ignored in this mode, …).
    expect(check.stderr).not.toMatch(/WARNING|ALERT/);
  });
});

describe('deploy/haproxy/haproxy.cfg, against what Socket.IO and the server need', () => {
  const config = (): Section[] => parseHaproxyFile(LB_CONFIG);
  const defaults = (): Section => section(config(), 'defaults');

  it('spreads new clients in turn and keeps each on its node with a cookie it inserts (sticky sessions)', () => {
    expect(onlyArgs(defaults(), 'balance')).toEqual(['roundrobin']);
    const [name, ...flags] = onlyArgs(defaults(), 'cookie');
    expect(name).toBe('rt-affinity');
    expect(flags).toEqual(expect.arrayContaining(['insert', 'indirect', 'nocache', 'httponly', 'dynamic']));
    expect(onlyArgs(defaults(), 'dynamic-cookie-key')).toHaveLength(1);
    expect(onlyArgs(section(config(), 'frontend', 'public'), 'default_backend')).toEqual(['realtime']);
    // The backend itself is each topology's (servers.cfg): nothing here may define it.
    expect(config().filter((s) => s.kind === 'backend' || s.kind === 'listen')).toEqual([]);
  });

  it('takes a node out on /readyz (drain, lost Redis) and sends a dead node’s clients elsewhere', () => {
    expect(argsOf(defaults(), 'option', 'httpchk')).toEqual([[]]);
    expect(onlyArgs(defaults(), 'http-check', 'send')).toEqual(['meth', 'GET', 'uri', '/readyz']);
    expect(onlyArgs(defaults(), 'http-check', 'expect')).toEqual(['status', '200']);
    expect(onlyArgs(defaults(), 'default-server')).toContain('check');
    expect(argsOf(defaults(), 'option', 'redispatch')).toEqual([[]]);
  });

  it('holds long polls past the ping interval and never cuts an idle WebSocket before Socket.IO’s heartbeat would', async () => {
    // The real server's heartbeat settings: a poll is held up to pingInterval, a peer is dead after pingInterval + pingTimeout.
    const { node } = await startTestNode();
    const { pingInterval, pingTimeout } = node.io.engine.opts as { pingInterval: number; pingTimeout: number };
    for (const name of ['client', 'server', 'tunnel']) {
      expect(haproxyTimeMs(onlyArgs(defaults(), 'timeout', name)[0]!), `timeout ${name}`).toBeGreaterThan(pingInterval + pingTimeout);
    }
    // HAProxy streams bodies (no request buffering, no size cap): the node's MAX_HTTP_BUFFER_SIZE_BYTES is the only limit.
    expect(argsOf(defaults(), 'option', 'http-buffer-request')).toEqual([]);
  });
});

describe('docker-compose.sentinel.yml (Redis Sentinel over docker-compose.yml)', () => {
  let layered: Record<string, ComposeService & { entrypoint?: string[] }>;
  beforeAll(() => {
    const binary = requireBinary('docker-compose', 'docker-compose');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
    const result = spawnSync(binary, ['-f', 'docker-compose.yml', '-f', 'docker-compose.sentinel.yml', 'config'], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`docker-compose config rejected the Sentinel layer:\n${result.stderr}`);
    layered = (parseYaml(result.stdout) as { services: typeof layered }).services;
  });

  it('adds a replica of redis and three sentinels monitoring it, with a quorum they can reach', () => {
    expect(Object.keys(layered).sort()).toEqual(['lb', 'redis', 'redis-replica', 'sentinel', 'server']);
    expect(layered['redis-replica']!.command).toEqual(expect.arrayContaining(['--replicaof', 'redis', '6379']));
    const script = (layered.sentinel!.command ?? []).join(' ');
    const monitor = /sentinel monitor (\S+) (\S+) (\d+) (\d+)/.exec(script);
    expect(monitor?.slice(1)).toEqual(['realtime', 'redis', '6379', '2']);
    expect(Number(monitor?.[4])).toBeLessThanOrEqual(layered.sentinel!.deploy?.replicas ?? 1);
    expect(script).toContain('sentinel resolve-hostnames yes');
    expect(script).toMatch(/--sentinel$/);
  });

  it('the servers load as Sentinel clients of that master, and only settings the server reads are set', () => {
    const environment = Object.fromEntries(Object.entries(layered.server!.environment ?? {}).map(([k, v]) => [k, v ?? ''])) as Record<
      string,
      string
    >;
    const known = serverEnvNames();
    for (const name of Object.keys(environment)) expect(known, name).toContain(name);
    const config = loadConfig(environment);
    expect(config.redis).toMatchObject({ kind: 'sentinel', masterName: 'realtime', sentinels: [{ host: 'sentinel', port: 26379 }] });
    const script = (layered.sentinel!.command ?? []).join(' ');
    expect(script).toContain(`port ${config.redis?.kind === 'sentinel' ? config.redis.sentinels[0]!.port : 0}`);
  });
});
