import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LB_CONFIG, REPO_ROOT, requireBinary } from '@realtime/local-cluster';
import { freePort, registerTeardown, spawnProcess, startRedisProcess, type RedisProcess } from '@realtime/testing';
import { loadConfig } from '../../apps/server/src/index.js';
import { startTestNode } from '../../apps/server/test/support/start-test-node.js';
import { argsOf, haproxyTimeMs, onlyArgs, parseHaproxyFile, section, type Section } from './support/haproxy-config.js';
import { serverEnvNames } from './support/server-settings.js';

/** A redis-server with `args` and its cluster bus on a free port; again on other ports when one was taken before the bind. */
async function startClusterNodeProcess(args: readonly string[]): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisProcess({ extraArgs: [...args, '--cluster-port', String(await freePort())] });
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

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
  entrypoint?: string[];
  restart?: string;
  volumes?: string[];
  stop_grace_period?: string;
}

let services: Record<string, ComposeService>;

/** The services of `docker-compose -f FILE… config`: the files merged, validated and normalised as `up` would run them. */
function composeConfig(files: readonly string[]): Record<string, ComposeService> {
  const binary = requireBinary('docker-compose', 'docker-compose');
  // Without LB_PORT, LOG_LEVEL or CORS_ORIGINS from this shell: the file's own defaults.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  const result = spawnSync(binary, [...files.flatMap((file) => ['-f', file]), 'config'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker-compose config rejected ${files.join(' + ')}:\n${result.stderr}`);
  return (parseYaml(result.stdout) as { services: Record<string, ComposeService> }).services;
}

beforeAll(() => {
  services = composeConfig(['docker-compose.yml']);
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
  let layered: Record<string, ComposeService>;
  beforeAll(() => {
    layered = composeConfig(['docker-compose.yml', 'docker-compose.sentinel.yml']);
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

/** What a service's container runs: its entrypoint, then its command. */
function argv(service: ComposeService): string[] {
  return [...(service.entrypoint ?? []), ...(service.command ?? [])];
}

/** The arguments after `redis-server` in a container's command line (none if it runs no redis-server). */
function redisServerArgv(service: ComposeService): string[] {
  const line = argv(service);
  const at = line.indexOf('redis-server');
  return at === -1 ? [] : line.slice(at + 1);
}

/** The `--name value` pairs of those arguments. */
function redisServerArgs(service: ComposeService): Map<string, string> {
  const line = redisServerArgv(service);
  const args = new Map<string, string>();
  for (let i = 0; i < line.length; i++) {
    const arg = line[i] as string;
    if (arg.startsWith('--')) args.set(arg.slice(2), line[++i] ?? '');
  }
  return args;
}

describe('docker-compose.cluster.yml (Redis Cluster over docker-compose.yml)', () => {
  const NODES = ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
  let layered: Record<string, ComposeService>;
  /** The services that run a cluster node: `redis-server … --cluster-enabled yes`. */
  let nodes: string[];
  /** redis-cluster-init's script as its shell gets it (compose turns `$$` into `$`). */
  let script: string;
  const nodeArgs = (name: string): Map<string, string> => redisServerArgs(layered[name]!);
  const nodeAddress = (name: string): string => `${name}:${nodeArgs(name).get('port') ?? '6379'}`;

  beforeAll(() => {
    layered = composeConfig(['docker-compose.yml', 'docker-compose.cluster.yml']);
    nodes = Object.keys(layered)
      .filter((name) => nodeArgs(name).get('cluster-enabled') === 'yes')
      .sort();
    script = (layered['redis-cluster-init']?.command ?? []).join(' ').replaceAll('$$', '$');
  });

  it('turns `redis` into the first of six Redis 7 cluster nodes, each announcing its own service name to clients, none published', () => {
    expect(Object.keys(layered).sort()).toEqual(['lb', ...NODES, 'redis-cluster-init', 'server'].sort());
    expect(nodes).toEqual(NODES);
    for (const name of nodes) {
      const node = layered[name]!;
      // Host names in the slot map (cluster-announce-hostname) need Redis 7.
      expect(node.image, name).toMatch(/^redis:7[.-]/);
      expect(Object.fromEntries(nodeArgs(name)), name).toMatchObject({
        'cluster-enabled': 'yes',
        'cluster-node-timeout': '2000',
        // What the servers are sent to (CLUSTER SLOTS, MOVED): the name Docker's DNS resolves, not an address of the day.
        'cluster-preferred-endpoint-type': 'hostname',
        'cluster-announce-hostname': name,
      });
      expect(node.ports, name).toBeUndefined();
      expect(node.healthcheck?.test, name).toEqual(['CMD', 'redis-cli', 'ping']);
    }
  });

  it('a one-shot init waits for all six to answer and creates three masters with a replica each; the servers wait for it to succeed', () => {
    const init = layered['redis-cluster-init']!;
    expect(init.depends_on).toEqual(Object.fromEntries(NODES.map((name) => [name, { condition: 'service_healthy' }])));
    // Restarted, a one-shot would never count as completed.
    expect(init.restart ?? 'no').toBe('no');
    expect(init.entrypoint).toEqual(['sh', '-c']);
    const create = /redis-cli --cluster create ((?:\S+:\d+ )+)--cluster-replicas (\d+) --cluster-yes/.exec(script);
    expect(create, 'redis-cli --cluster create HOST:PORT… --cluster-replicas N --cluster-yes').not.toBeNull();
    const addresses = create![1]!.trim().split(' ');
    expect([...addresses].sort()).toEqual(nodes.map(nodeAddress).sort());
    expect(addresses.length / (Number(create![2]) + 1), 'masters').toBe(3);
    expect(layered.server!.depends_on?.['redis-cluster-init']).toEqual({ condition: 'service_completed_successfully' });
  });

  it('the servers load as Cluster clients seeded by the six nodes, with the sharded adapter; REDIS_URL is blank, so unset', () => {
    const environment = Object.fromEntries(Object.entries(layered.server!.environment ?? {}).map(([k, v]) => [k, v ?? ''])) as Record<
      string,
      string
    >;
    const known = serverEnvNames();
    for (const name of Object.keys(environment)) expect(known, name).toContain(name);
    expect(environment.REDIS_URL?.trim()).toBe('');
    const config = loadConfig(environment);
    expect(config.redis).toMatchObject({ kind: 'cluster', tls: false });
    const seeds = config.redis?.kind === 'cluster' ? config.redis.nodes.map((n) => `${n.host}:${n.port}`) : [];
    expect(seeds.sort()).toEqual(nodes.map(nodeAddress).sort());
    expect(config.adapterMode).toBe('sharded');
  });

  it('the init script, run by sh against redis-server processes started with the six nodes’ commands, makes the cluster, and run again leaves it be', async () => {
    const redisCli = requireBinary('redis-cli', 'redis-tools');
    const dir = mkdtempSync(join(tmpdir(), 'compose-cluster-'));
    registerTeardown(() => rmSync(dir, { recursive: true, force: true }));
    const servers: [string, number][] = [];
    // One after another: a node that fails to start leaves none running unregistered.
    for (const name of nodes) {
      const data = join(dir, name);
      mkdirSync(data);
      // The node's own command (which redis-server must accept), on a free loopback port, nodes.conf in a directory of its own.
      // Its cluster bus on a free port too: here port + 10000 (the default, alone in a container) may be taken.
      const server = await startClusterNodeProcess([...redisServerArgv(layered[name]!), '--dir', data]);
      registerTeardown(() => server.stop());
      servers.push([name, server.port]);
    }
    const ports = new Map(servers);
    // Docker's DNS for this test: a redis-cli first on PATH that sends `-h NAME` and `NAME:PORT` to that node's process.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const hosts = Object.fromEntries(servers);
    const addresses = Object.fromEntries(nodes.map((name) => [nodeAddress(name), `127.0.0.1:${ports.get(name)}`]));
    writeFileSync(
      join(bin, 'redis-cli'),
      `#!${process.execPath}
const hosts = ${JSON.stringify(hosts)};
const addresses = ${JSON.stringify(addresses)};
const args = [];
for (const arg of process.argv.slice(2)) {
  if (args.at(-1) === '-h' && arg in hosts) args.push('127.0.0.1', '-p', String(hosts[arg]));
  else args.push(addresses[arg] ?? arg);
}
process.exit(require('node:child_process').spawnSync(${JSON.stringify(redisCli)}, args, { stdio: 'inherit' }).status ?? 1);
`,
      { mode: 0o755 },
    );
    const runInit = async (): Promise<{ code: number | null; output: string }> => {
      const { child, exited } = spawnProcess('sh', ['-c', script], { env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      return { code: await exited, output };
    };
    const redis = (name: string, ...command: string[]): string => {
      const result = spawnSync(redisCli, ['-p', String(ports.get(name)), ...command], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      return result.stdout;
    };

    const first = await runInit();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('Redis Cluster ready');
    for (const name of nodes) expect(redis(name, 'cluster', 'info'), name).toMatch(/^cluster_state:ok\r?$/m);
    // CLUSTER NODES: `<id> <address> <flags> <master id or -> …`. Replicas are learnt by gossip, within moments.
    await vi.waitFor(
      () => {
        const table = redis('redis', 'cluster', 'nodes')
          .trim()
          .split('\n')
          .map((line) => line.split(' '));
        const masters = table.filter((fields) => fields[2]!.split(',').includes('master')).map((fields) => fields[0]);
        const replicasOf = table.filter((fields) => fields[2]!.split(',').includes('slave')).map((fields) => fields[3]);
        expect(masters).toHaveLength(3);
        expect([...replicasOf].sort(), 'one replica per master').toEqual([...masters].sort());
      },
      { timeout: 10_000, interval: 200 },
    );
    // The slot map a server gets: every slot, each range's master named by its service, each name the node it is.
    // (A replica joins these entries once its first sync is done: no use to the servers, which use masters only.)
    type Slots = [number, number, ...[string, number, string, unknown][]][];
    const slots = JSON.parse(redis('redis', '--json', 'cluster', 'slots')) as Slots;
    expect(slots.reduce((sum, [from, to]) => sum + to - from + 1, 0)).toBe(16384);
    for (const [, , ...endpoints] of slots) {
      for (const [host, port] of endpoints) expect(ports.get(host), `${host} in the slot map`).toBe(port);
    }
    expect(new Set(slots.map((range) => range[2]?.[0])).size, 'masters in the slot map').toBe(3);

    const nodesBefore = redis('redis', 'cluster', 'myid');
    const second = await runInit();
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('already created');
    expect(second.output).not.toContain('hash slots allocation');
    expect(redis('redis', 'cluster', 'myid')).toBe(nodesBefore);
    expect(redis('redis', 'cluster', 'info')).toMatch(/^cluster_known_nodes:6\r?$/m);
  }, 60_000);
});
