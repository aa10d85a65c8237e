import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, requireBinary } from '@realtime/local-cluster';
import { connectClient, emitWithAck, guideEnvelope, spawnProcess } from '@realtime/testing';

/** `npm run cluster` is `node apps/cluster/dist/cli.js` after the build; the test runs the built CLI. */
const CLI = join(REPO_ROOT, 'apps/cluster/dist/cli.js');

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('npm run cluster (apps/cluster/dist/cli.js)', () => {
  it('shows its progress, serves through haproxy at the URL it prints, and stops everything on SIGTERM', async () => {
    const { child, exited } = spawnProcess(process.execPath, [CLI, '--nodes', '2', '--port', '0'], {
      cwd: REPO_ROOT,
      env: { ...process.env, REDIS_URL: '' },
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ready = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        const match = /^\[cluster\] ready: (http:\/\/\S+)/.exec(line);
        if (match !== null) resolve(match[1] as string);
      });
      void exited.then((code) => reject(new Error(`the CLI exited (${code}) before it was ready:\n${lines.join('\n')}\n${stderr}`)));
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        '[cluster] starting redis-server',
        '[cluster] starting 2 node(s)',
        '[cluster] starting haproxy',
        expect.stringMatching(/^\[cluster\] node-1 listening on http:\/\/127\.0\.0\.1:\d+$/),
        expect.stringMatching(/^\[cluster\] node-2 listening on http:\/\/127\.0\.0\.1:\d+$/),
      ]),
    );
    const redisUrl = /redis-server ready on (redis:\/\/\S+)/.exec(lines.join('\n'))?.[1] as string;
    const nodeUrls = [...lines.join('\n').matchAll(/node-\d listening on (http:\/\/\S+)/g)].map((m) => m[1] as string);

    expect((await fetch(`${ready}/readyz`)).status).toBe(200);
    const client = await connectClient(ready);
    expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'cli' }, client))).toEqual({ ok: true, onlineUsers: 1 });
    client.disconnect();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines).toEqual(expect.arrayContaining(['[cluster] draining 2 node(s) (SIGTERM)', '[cluster] stopped']));
    // Nothing it started is left listening.
    for (const url of [ready, ...nodeUrls, redisUrl.replace('redis:', 'http:')]) expect(await refused(url), url).toBe(true);
  });

  it('a missing haproxy, redis-server or docker-compose is an error that says how to install it (tests fail, never skip)', () => {
    expect(() => requireBinary('haproxy-that-is-not-installed', 'haproxy')).toThrow(
      /haproxy-that-is-not-installed is not installed .*apt-get install haproxy.*\.ci\/run/,
    );
  });

  it('refuses a bad argument with its usage', async () => {
    const child = spawn(process.execPath, [CLI, '--nodes', 'zero'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--nodes must be an integer/);
    expect(stderr).toMatch(/usage: npm run cluster/);
  });
});
