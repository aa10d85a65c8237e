import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, findBinary, freePort, startRedis } from '@realtime/local-cluster';
import { connectClient, emitWithAck, guideEnvelope, registerTeardown } from '@realtime/testing';
import { dockerignoreMatcher, parseDockerfile, type Instruction, type Stage } from './support/dockerfile.js';

/**
 * No Docker engine runs here, so the Dockerfile is replayed: each stage in
 * its own directory standing for the image's filesystem, COPY taking exactly
 * the files it names from the build context (minus .dockerignore) or from
 * the build stage, RUN executing its exact command there, then the runtime
 * stage's exact CMD (and HEALTHCHECK) run as an unprivileged user.
 */
const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const ignored = dockerignoreMatcher(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
const runtime = stages.at(-1) as Stage;
const of = <K extends Instruction['kind']>(stage: Stage, kind: K) =>
  stage.instructions.filter((i): i is Extract<Instruction, { kind: K }> => i.kind === kind);
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; engines: { node: string } };
/** `node:24-bookworm-slim` → '24'. */
const imageNodeMajor = /^node:(\d+)/.exec(runtime.image)?.[1];
/**
 * The replay has no image: its RUNs and CMD run on the Node that runs these
 * tests, with the machine's npm. These settings of the machine say how that
 * npm reaches the registry and builds addons on a Node that is not the
 * machine's own (.ci/run sets them for its Node 24); nothing else of this
 * environment leaks into the image's.
 */
const buildHostEnv = Object.fromEntries(
  ['NODE_EXTRA_CA_CERTS', 'npm_config_globalconfig', 'npm_config_nodedir'].flatMap((name) => {
    const value = process.env[name];
    return value === undefined ? [] : [[name, value]];
  }),
);

describe('Dockerfile', () => {
  it('is multi-stage: slim Node 24 runtime, production dependencies only, built output copied in, non-root USER, HEALTHCHECK, npm start’s command', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.image).toMatch(/^node:24[.\d]*-(bookworm|trixie)-slim$/);
    // The build stage compiles and installs with the Node the runtime runs.
    for (const stage of stages) expect(stage.image, stage.name).toBe(runtime.image);
    // package.json's engines allows the image's Node.
    expect(pkg.engines.node.split('||').map((range) => /^\s*\^(\d+)\./.exec(range)?.[1])).toContain(imageNodeMajor);
    const runs = of(runtime, 'RUN').map((r) => r.command);
    expect(runs.some((c) => /npm ci\b.*--omit=dev/.test(c))).toBe(true);
    // Nothing compiles in the runtime stage: the build output comes from the build stage.
    expect(runs.join(' ')).not.toMatch(/tsc|npm run build/);
    expect(
      of(runtime, 'COPY')
        .filter((c) => c.from !== undefined)
        .map((c) => c.sources[0]),
    ).toEqual(expect.arrayContaining(['/app/apps/server/dist', '/app/packages/protocol/dist', '/app/packages/presence/dist']));
    const users = of(runtime, 'USER');
    expect(users.at(-1)?.user).toBe('node');
    expect(of(runtime, 'HEALTHCHECK')).toHaveLength(1);
    expect(of(runtime, 'CMD').at(-1)?.command).toEqual(['node', 'apps/server/dist/main.js']);
    // The same entry point as `npm start`.
    expect(pkg.scripts.start).toBe('node apps/server/dist/main.js');
    expect(of(runtime, 'EXPOSE').flatMap((e) => e.ports)).toEqual([of(runtime, 'ENV').find((e) => e.values.PORT)?.values.PORT]);
  });

  it('.dockerignore keeps local build output and dependencies out of the context, but not what COPY needs', () => {
    for (const path of ['node_modules', 'apps/server/node_modules', 'apps/server/dist', 'packages/protocol/tsconfig.tsbuildinfo', '.git']) {
      expect(ignored(path), path).toBe(true);
    }
    for (const stage of stages) {
      for (const copy of of(stage, 'COPY').filter((c) => c.from === undefined)) {
        for (const source of copy.sources) {
          expect(ignored(source.replace(/\/$/, '')), source).toBe(false);
          expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
        }
      }
    }
  });

  it('replayed without Docker, the image’s CMD runs as an unprivileged user and serves /readyz, the HEALTHCHECK and a socket.io client', async () => {
    const setpriv = findBinary('setpriv');
    if (setpriv === undefined) throw new Error('setpriv (util-linux) is needed to run the CMD as an unprivileged user');
    // Before minutes of npm ci: a replay on another Node major says little about the image.
    expect(
      process.versions.node.split('.')[0],
      `the replay runs the image's RUNs and CMD on the Node running these tests (${process.version}): run them on Node ${imageNodeMajor} (.ci/run installs it)`,
    ).toBe(imageNodeMajor);
    const stageRoots = new Map<string, string>();
    let image: Replayed | undefined;
    for (const stage of stages) {
      image = replay(stage, stageRoots);
      if (stage.name !== undefined) stageRoots.set(stage.name, image.root);
    }
    const result = image as Replayed;

    // Production dependencies only, and the workspace packages resolve to their built output.
    const modules = join(result.workdir, 'node_modules');
    expect(existsSync(join(modules, 'fastify'))).toBe(true);
    expect(existsSync(join(modules, 'pino-pretty'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'testcontainers', 'socket.io-client'])
      expect(existsSync(join(modules, dev)), dev).toBe(false);
    expect(existsSync(join(realpathSync(join(modules, '@realtime/protocol')), 'dist/index.js'))).toBe(true);

    // The image filesystem is root's and read-only to the user; make the temp dir traversable like an image's /app.
    allowRead(result.root);
    const redis = await startRedis();
    registerTeardown(() => redis.stop());
    const port = await freePort();
    // As `docker run -e PORT=… -e HOST=… -e REDIS_URL=…` would: the image ENV, then the run's.
    const env = {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      ...result.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      NODE_ID: 'image-1',
    };
    const [command, ...args] = result.cmd;
    const unprivileged = ['--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    const child = spawn(setpriv, [...unprivileged, command as string, ...args], {
      cwd: result.workdir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    registerTeardown(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('"event":"listening"')) resolve();
      });
      void exited.then((code) => reject(new Error(`the image's CMD exited (${code}) before listening: ${stderr}`)));
    });
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('65534');
    // The CMD's `node`, looked up on the image PATH, is the Node these tests run on.
    expect(realpathSync(`/proc/${child.pid}/exe`)).toBe(realpathSync(process.execPath));

    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const healthcheck = spawnSync(setpriv, [...unprivileged, ...result.healthcheck], { cwd: result.workdir, env, timeout: 10_000 });
    expect(healthcheck.status, String(healthcheck.stderr)).toBe(0);
    const client = await connectClient(url);
    expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'image' }, client))).toEqual({
      ok: true,
      onlineUsers: 1,
    });

    client.disconnect();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 300_000);
});

interface Replayed {
  /** Stands for the image's `/`. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  healthcheck: string[];
}

function copyInto(source: string, destination: string, filter: (path: string) => boolean): void {
  cpSync(source, destination, { recursive: true, filter: (path) => filter(path), dereference: false });
}

function replay(stage: Stage, stageRoots: ReadonlyMap<string, string>): Replayed {
  const root = mkdtempSync(join(tmpdir(), `dockerfile-${stage.name ?? 'stage'}-`));
  registerTeardown(() => rmSync(root, { recursive: true, force: true }));
  const inImage = (path: string): string => join(root, path);
  let workdir = inImage('/');
  const env: Record<string, string> = {};
  let cmd: string[] = [];
  let healthcheck: string[] = [];
  for (const instruction of stage.instructions) {
    switch (instruction.kind) {
      case 'ARG':
      case 'EXPOSE':
      case 'STOPSIGNAL':
      case 'USER': // applied when the CMD runs (the build's RUNs run as root, as in Docker)
        break;
      case 'ENV':
        Object.assign(env, instruction.values);
        break;
      case 'WORKDIR':
        workdir = instruction.path.startsWith('/') ? inImage(instruction.path) : join(workdir, instruction.path);
        mkdirSync(workdir, { recursive: true });
        break;
      case 'COPY': {
        const many = instruction.sources.length > 1;
        const intoDir = instruction.destination.endsWith('/') || instruction.destination === '.' || many;
        const destination = instruction.destination.startsWith('/')
          ? inImage(instruction.destination)
          : join(workdir, instruction.destination);
        for (const source of instruction.sources) {
          let from: string;
          let filter: (path: string) => boolean;
          if (instruction.from === undefined) {
            from = join(REPO_ROOT, source);
            filter = (path) => !ignored(relative(REPO_ROOT, path));
            if (ignored(source.replace(/\/$/, ''))) throw new Error(`COPY ${source}: excluded by .dockerignore, a Docker build would fail`);
          } else {
            const stageRoot = stageRoots.get(instruction.from);
            if (stageRoot === undefined) throw new Error(`COPY --from=${instruction.from}: no such stage before this one`);
            from = join(stageRoot, source);
            filter = () => true;
          }
          if (!existsSync(from)) throw new Error(`COPY ${source}: not found (${from})`);
          // Docker: a directory's contents go into the destination; a file goes into it when it ends with /.
          const target = statSync(from).isDirectory() || !intoDir ? destination : join(destination, basename(source));
          mkdirSync(statSync(from).isDirectory() ? target : dirname(target), { recursive: true });
          copyInto(from, target, filter);
        }
        break;
      }
      case 'RUN': {
        // `npm cache clean` must clean a cache of this replay, never the machine's.
        const cache = instruction.command.includes('cache clean') ? { npm_config_cache: join(root, '.npm-cache') } : {};
        const run = spawnSync('sh', ['-c', instruction.command], {
          cwd: workdir,
          env: { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: process.env.HOME ?? '/root', ...buildHostEnv, ...env, ...cache },
          encoding: 'utf8',
          timeout: 240_000,
        });
        if (run.status !== 0)
          throw new Error(`RUN ${instruction.command} failed (${run.status ?? run.signal}):\n${run.stderr}\n${run.stdout}`);
        break;
      }
      case 'HEALTHCHECK':
        healthcheck = instruction.command;
        break;
      case 'CMD':
        cmd = instruction.command;
        break;
      case 'FROM':
        break;
    }
  }
  return { root, workdir, env, cmd, healthcheck };
}

/** chmod a+rX on a tree (what an image layer's root-owned, world-readable files are). */
function allowRead(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) allowRead(path);
    else chmodSync(path, statSync(path).mode | 0o444);
  }
}
