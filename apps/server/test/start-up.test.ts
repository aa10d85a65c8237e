import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { SERVER_MAIN } from '@realtime/local-cluster';
import {
  connectClient,
  emitWithAck,
  freePort,
  guideEnvelope,
  registerTeardown,
  spawnProcess,
  startRedisCluster,
  startRedisProcess,
  startRedisSentinelSet,
} from '@realtime/testing';
import { signToken } from './support/tokens.js';

/**
 * A planted Redis password must never reach a byte the node prints, at the
 * most verbose log level: not on a refused start, not on a good one, not
 * through an outage and a reconnection. Start-up failures are told apart:
 * refused credentials stop at once (exit 2); only an unreachable Redis waits
 * for REDIS_CONNECT_TIMEOUT_MS.
 */

/** A node process whose every output byte (stdout and stderr) is kept. */
function spawnNode(env: Record<string, string>) {
  const { child, exited } = spawnProcess(process.execPath, [SERVER_MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'trace', NODE_ID: 'secrets', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  return {
    child,
    exited,
    output: () => output,
    /** Waits for a line of output matching `pattern`. */
    waitFor: (pattern: RegExp, timeout = 15_000) =>
      vi.waitFor(
        () => {
          if (!pattern.test(output)) throw new Error(`no output matching ${String(pattern)} yet:\n${output.slice(-2000)}`);
        },
        { timeout, interval: 20 },
      ),
  };
}

function portOf(output: string): number {
  const match = /"event":"listening"[^\n]*"port":(\d+)/.exec(output) ?? /"port":(\d+)[^\n]*"event":"listening"/.exec(output);
  if (match?.[1] === undefined) throw new Error(`no listening line in:\n${output}`);
  return Number(match[1]);
}

/** A password that cannot occur by chance, with URL-special characters to test the encoding too. */
function plantedPassword(): string {
  return `pw-${randomBytes(9).toString('hex')}`;
}

describe('Redis credentials never reach the output', () => {
  it('a refused password stops the start at once with exit 2, saying the credentials were refused, without printing them', async () => {
    const password = plantedPassword();
    const wrong = plantedPassword();
    const redis = await startRedisProcess({ password });
    registerTeardown(() => redis.stop());
    const started = performance.now();
    const node = spawnNode({ REDIS_URL: `redis://:${wrong}@127.0.0.1:${redis.port}`, REDIS_CONNECT_TIMEOUT_MS: '20000' });
    expect(await node.exited).toBe(2);
    // Not the 20 s connect timeout: Redis answered, with WRONGPASS.
    expect(performance.now() - started).toBeLessThan(10_000);
    const output = node.output();
    expect(output).toContain('refused the credentials (WRONGPASS)');
    expect(output).toContain(`redis://:***@127.0.0.1:${redis.port}`);
    expect(output).not.toContain(wrong);
    expect(output).not.toContain(password);
    expect(output).not.toMatch(/"args"/);

    // No password at all against a server that needs one: NOAUTH, the same way.
    const anonymous = spawnNode({ REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    expect(await anonymous.exited).toBe(2);
    expect(anonymous.output()).toContain('refused the credentials (NOAUTH)');

    // A user name with a wrong password: the user name may show, the password not.
    const withUser = spawnNode({ REDIS_URL: `redis://alice:${wrong}@127.0.0.1:${redis.port}` });
    expect(await withUser.exited).toBe(2);
    expect(withUser.output()).toContain(`redis://alice:***@127.0.0.1:${redis.port}`);
    expect(withUser.output()).not.toContain(wrong);
  });

  it('a good start, traffic, a Redis outage and the reconnection print the password nowhere', async () => {
    const password = plantedPassword();
    const redis = await startRedisProcess({ password });
    registerTeardown(() => redis.stop());
    const node = spawnNode({ REDIS_URL: redis.url });
    await node.waitFor(/"event":"listening"/);
    expect(node.output()).toContain(`cluster member via Redis at redis://:***@127.0.0.1:${redis.port}`);
    const url = `http://127.0.0.1:${portOf(node.output())}`;
    const client = await connectClient(url);
    expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'secret-test' }, client))).toEqual({
      ok: true,
      onlineUsers: 1,
    });

    await redis.kill();
    await node.waitFor(/Redis connection error; reconnecting/);
    await node.waitFor(/presence heartbeat failed/);
    await redis.start();
    await node.waitFor(/presence store reachable again/, 20_000);
    // Traffic after the reconnection, then a drain: every path that logs has run.
    expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'secret-test-2' }, client))).toMatchObject({ ok: true });
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);

    const output = node.output();
    expect(output).toContain('drained');
    expect(output).not.toContain(password);
    expect(output).not.toContain(encodeURIComponent(password));
    expect(output).not.toMatch(/"args"/);
  });

  it('an unreachable Redis waits REDIS_CONNECT_TIMEOUT_MS, then stops with a message naming the setting, not the password', async () => {
    const password = plantedPassword();
    const port = await freePort(); // nothing listens here
    const started = performance.now();
    const node = spawnNode({ REDIS_URL: `redis://:${password}@127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT_MS: '800' });
    expect(await node.exited).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(800);
    const output = node.output();
    expect(output).toContain(`could not be reached within 800 ms (REDIS_CONNECT_TIMEOUT_MS)`);
    expect(output).toContain(`redis://:***@127.0.0.1:${port}`);
    expect(output).not.toContain(password);
  });

  it('a REDIS_URL with a path that is not a database number is a configuration error naming the variable (exit 2)', async () => {
    const node = spawnNode({ REDIS_URL: 'redis://127.0.0.1:6379/abc' });
    expect(await node.exited).toBe(2);
    expect(node.output()).toMatch(/^Invalid configuration: REDIS_URL's path must be a database number/m);
    expect(node.output()).not.toMatch(/unhandled/i);
  });
});

describe('what a node says when it starts', () => {
  function lines(output: string): Record<string, unknown>[] {
    return output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('without Redis: the first line says it is a single node in memory; a typo’d setting is named with the likely one', async () => {
    const node = spawnNode({ REDIS_URL: '', REDIS_ULR: 'redis://127.0.0.1:6379', LOG_LEVEL: 'info' });
    await node.waitFor(/"event":"listening"/);
    const logged = lines(node.output());
    expect(logged[0]).toMatchObject({
      event: 'mode',
      mode: 'memory',
      msg: "single node, state in memory: other nodes will not see this node's clients (set REDIS_URL to form a cluster)",
    });
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: 'unknown-setting',
        variable: 'REDIS_ULR',
        suggestion: 'REDIS_URL',
        msg: 'REDIS_ULR is not a setting of this server and is ignored: did you mean REDIS_URL?',
      }),
    );
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
  });

  it('with Redis: the first line names the Redis it joins; a first start logs no resync', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    const node = spawnNode({ REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    // The first heartbeat (the registration) has run before the node listens.
    await node.waitFor(/"event":"listening"/);
    const logged = lines(node.output());
    expect(logged[0]).toMatchObject({ event: 'mode', mode: 'redis', msg: `cluster member via Redis at redis://127.0.0.1:${redis.port}` });
    expect(logged.filter((l) => l.level === 40 || l.level === 50)).toEqual([]);
    expect(node.output()).not.toContain('memberships rewritten');
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
  });
});

describe('a signal during start-up', () => {
  it('SIGTERM while the node is still starting is a drain once it has started, not a kill', async () => {
    const redis = await startRedisProcess();
    registerTeardown(() => redis.stop());
    // Redis accepts the connection but answers nothing: the start waits.
    redis.pause();
    const node = spawnNode({ REDIS_URL: redis.url, LOG_LEVEL: 'info', REDIS_CONNECT_TIMEOUT_MS: '20000' });
    await node.waitFor(/"event":"mode"/);
    node.child.kill('SIGTERM');
    await node.waitFor(/"msg":"shutting down"/);
    redis.resume();
    expect(await node.exited).toBe(0);
    const output = node.output();
    // It finished starting, then drained.
    expect(output.indexOf('"event":"listening"')).toBeGreaterThan(output.indexOf('"msg":"shutting down"'));
    expect(output).toContain('"msg":"drained"');
  });
});

describe('Sentinel credentials', () => {
  it('data nodes with a password behind open sentinels: REDIS_PASSWORD starts the node; a wrong one stops it with exit 2; neither is printed', async () => {
    const password = plantedPassword();
    const wrong = plantedPassword();
    const set = await startRedisSentinelSet({ password });
    const sentinels = set.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    const good = spawnNode({ REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: set.masterName, REDIS_PASSWORD: password });
    await good.waitFor(/"event":"listening"/);
    const client = await connectClient(`http://127.0.0.1:${portOf(good.output())}`);
    expect(await emitWithAck(client, 'join-channel', { data: { roomChannel: 'sentinel-auth' } })).toEqual({ ok: true, onlineUsers: 1 });
    good.child.kill('SIGTERM');
    expect(await good.exited).toBe(0);
    expect(good.output()).toContain(`cluster member via Redis at master ${set.masterName} of sentinels ${sentinels} with a password`);

    const refused = spawnNode({ REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: set.masterName, REDIS_PASSWORD: wrong });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain('refused the credentials (WRONGPASS): check REDIS_USERNAME and REDIS_PASSWORD');
    for (const output of [good.output(), refused.output()]) {
      expect(output).not.toContain(password);
      expect(output).not.toContain(wrong);
    }
  });
});

describe('Redis Cluster credentials', () => {
  it('a cluster with a password: REDIS_PASSWORD starts the node; a wrong one stops it with exit 2 within seconds; neither is printed', async () => {
    const password = plantedPassword();
    const wrong = plantedPassword();
    const redis = await startRedisCluster({ password });
    const seeds = redis.seeds.map((s) => `${s.host}:${s.port}`).join(',');
    const good = spawnNode({ REDIS_CLUSTER_NODES: seeds, REDIS_PASSWORD: password });
    await good.waitFor(/"event":"listening"/);
    const client = await connectClient(`http://127.0.0.1:${portOf(good.output())}`);
    expect(await emitWithAck(client, 'join-channel', { data: { roomChannel: 'cluster-auth' } })).toEqual({ ok: true, onlineUsers: 1 });
    good.child.kill('SIGTERM');
    expect(await good.exited).toBe(0);
    expect(good.output()).toContain(`cluster member via Redis at Redis Cluster seeded by ${seeds} with a password`);

    const startedAt = performance.now();
    const refused = spawnNode({ REDIS_CLUSTER_NODES: seeds, REDIS_PASSWORD: wrong });
    expect(await refused.exited).toBe(2);
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(refused.output()).toContain('refused the credentials (WRONGPASS): check REDIS_USERNAME and REDIS_PASSWORD');
    for (const output of [good.output(), refused.output()]) {
      expect(output).not.toContain(password);
      expect(output).not.toContain(wrong);
    }
  });
});

describe('JWT secrets and tokens never reach the output (LOG_LEVEL=trace)', () => {
  it('AUTH_MODE=required or optional without a key source stops the start with exit 2, naming the settings', async () => {
    for (const mode of ['required', 'optional']) {
      const node = spawnNode({ AUTH_MODE: mode });
      expect(await node.exited).toBe(2);
      expect(node.output()).toContain(`AUTH_MODE=${mode} needs a key source: AUTH_JWT_SECRET`);
    }
  });

  it('a secret too short stops the start with exit 2 without printing it', async () => {
    const short = `s-${randomBytes(6).toString('hex')}`;
    const node = spawnNode({ AUTH_MODE: 'required', AUTH_JWT_SECRET: short });
    expect(await node.exited).toBe(2);
    expect(node.output()).toContain('AUTH_JWT_SECRET must be at least 32 bytes');
    expect(node.output()).not.toContain(short);
  });

  it('accepted and refused handshakes, traffic and a drain print neither the secret nor any token', async () => {
    const secret = `jwt-secret-${randomBytes(16).toString('hex')}`;
    const node = spawnNode({ AUTH_MODE: 'optional', AUTH_JWT_SECRET: secret });
    await node.waitFor(/"event":"listening"/);
    const url = `http://127.0.0.1:${portOf(node.output())}`;
    const good = await signToken(secret, { sub: 'user-in-logs-test', name: 'N' });
    const header = await signToken(secret, { sub: 'header-user' });
    const expired = await signToken(secret, { sub: 'u' }, { expiresIn: -120 });
    const forged = await signToken(`${secret}-wrong`, { sub: 'u' });
    const renewed = await signToken(secret, { sub: 'user-in-logs-test' }, { expiresIn: 600 });
    const otherUser = await signToken(secret, { sub: 'someone-else' });
    const tokens = [good, header, expired, forged, renewed, otherUser];

    const client = await connectClient(url, { auth: { token: good } });
    expect(await emitWithAck(client, 'join-channel', guideEnvelope({ roomChannel: 'auth-logs' }, client))).toMatchObject({ ok: true });
    expect(await emitWithAck(client, 'auth-logs', guideEnvelope({ roomChannel: 'auth-logs', message: 'hi' }, client))).toEqual({
      ok: true,
    });
    // auth-refresh: accepted, refused, and refused with a close.
    expect(await emitWithAck(client, 'auth-refresh', { token: renewed })).toMatchObject({ ok: true });
    expect(await emitWithAck(client, 'auth-refresh', { token: forged })).toMatchObject({ ok: false, error: { code: 'AUTH_INVALID' } });
    expect(await emitWithAck(client, 'auth-refresh', { token: expired })).toMatchObject({ ok: false, error: { code: 'AUTH_EXPIRED' } });
    const switching = await connectClient(url, { auth: { token: good } });
    expect(await emitWithAck(switching, 'auth-refresh', { token: otherUser })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await node.waitFor(/auth-refresh refused/);
    await connectClient(url, { transports: ['polling'], extraHeaders: { Authorization: `Bearer ${header}` } });
    for (const token of [expired, forged]) {
      await expect(connectClient(url, { auth: { token } })).rejects.toThrow(/AUTH_/);
      await expect(connectClient(url, { transports: ['polling'], extraHeaders: { Authorization: `Bearer ${token}` } })).rejects.toThrow(
        /AUTH_/,
      );
    }
    await node.waitFor(/connection refused/);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);

    const output = node.output();
    expect(output).toContain('drained');
    expect(output).not.toContain(secret);
    for (const token of tokens) {
      // No token, and no part of one (its payload or signature segment).
      for (const part of token.split('.').slice(1)) expect(output).not.toContain(part);
    }
    expect(output).not.toMatch(/Bearer/i);
  });
});
