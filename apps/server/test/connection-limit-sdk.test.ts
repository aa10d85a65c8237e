import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions, type RealtimeError } from '@realtime/client';
import { registerTeardown, startCluster, uniqueKeyPrefix, type ServerProcess } from '@realtime/testing';
import { attemptConnect, mustConnect } from './support/connect-attempt.js';
import { redisEnv } from './support/redis-env.js';
import { HS_SECRET, signToken } from './support/tokens.js';
import { metric } from './support/node-metrics.js';

/**
 * Issue "trust", section 6: the SDK retries a CONNECTION_LIMIT refusal
 * (MAX_CONNECTIONS_PER_USER) with backoff, since socket.io-client never
 * retries a refusal from the server's middleware, and connects once a slot
 * frees; every other refusal stays final. Two node processes on a real Redis.
 */

const LIMIT_MESSAGE = 'this user already has 1 connection (MAX_CONNECTIONS_PER_USER): close one, or retry later';

async function twoNodes(): Promise<ServerProcess[]> {
  const env = await redisEnv('standalone');
  return startCluster(2, {
    keyPrefix: uniqueKeyPrefix('user-limit-sdk'),
    namePrefix: 'limit-sdk',
    env: { ...env, AUTH_MODE: 'optional', AUTH_JWT_SECRET: HS_SECRET, MAX_CONNECTIONS_PER_USER: '1' },
  });
}

function sdk(url: string, options: RealtimeClientOptions): { rt: RealtimeClient; refusals: RealtimeError[]; lost: RealtimeError[] } {
  const rt = createRealtimeClient(url, { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 200, ...options });
  registerTeardown(() => rt.close());
  const refusals: RealtimeError[] = [];
  const lost: RealtimeError[] = [];
  rt.on('connect_error', (err) => refusals.push(err));
  rt.on('lost', (_membership, err) => lost.push(err));
  return { rt, refusals, lost };
}

describe('the SDK and CONNECTION_LIMIT', () => {
  it('retries the refusal with backoff while the user is at its limit, then connects once a slot frees; a join made meanwhile goes through', async () => {
    const [a, b] = await twoNodes();
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const token = await signToken(HS_SECRET, { sub: `user-${randomUUID().slice(0, 8)}` });
    const holder = await mustConnect(a.url, token);
    const { rt, refusals, lost } = sdk(b.url, { auth: { token } });
    const joined = rt.joinChannel('c', { timeoutMs: 20_000 });
    // Refused, and tried again (socket.io-client alone would stop at the first).
    await vi.waitFor(() => expect(refusals.length).toBeGreaterThanOrEqual(3), { timeout: 15_000, interval: 20 });
    for (const err of refusals) expect(err).toMatchObject({ code: 'CONNECTION_LIMIT', retryable: true, message: LIMIT_MESSAGE });
    expect(rt.connected).toBe(false);

    holder.disconnect();
    const channel = await joined;
    expect(rt.connected).toBe(true);
    expect(channel.onlineUsers).toBe(1);
    expect(lost).toEqual([]);
    // The SDK now holds the user's one slot.
    expect(await attemptConnect(a.url, token)).toMatchObject({ ok: false, message: 'CONNECTION_LIMIT' });
  });

  it('other refusals stay final: AUTH_INVALID is not retried and a waiting call rejects with it', async () => {
    const [a, b] = await twoNodes();
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const token = await signToken(HS_SECRET, { sub: `user-${randomUUID().slice(0, 8)}` });
    await mustConnect(a.url, token);
    const bad = sdk(b.url, { auth: { token: 'not-a-jwt' } });
    const limited = sdk(b.url, { auth: { token } });
    await expect(bad.rt.joinChannel('c')).rejects.toMatchObject({ code: 'AUTH_INVALID', retryable: false });
    // While the limited client was refused and retried four times, the bad one was refused once and never came back.
    await vi.waitFor(() => expect(limited.refusals.length).toBeGreaterThanOrEqual(4), { timeout: 15_000, interval: 20 });
    expect(bad.refusals.map((e) => e.code)).toEqual(['AUTH_INVALID']);
    expect(await metric(b, 'realtime_auth_refusals_total{code="AUTH_INVALID"}')).toBe(1);
    expect(bad.rt.connected).toBe(false);
  });
});
