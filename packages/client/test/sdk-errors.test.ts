import { describe, expect, it, vi } from 'vitest';
import { freePort, startServerProcess } from '@realtime/testing';
import { ERROR_CODES, RealtimeError, type MembershipInfo } from '../src/index.js';
import { recordTopic, sdkClient } from './support/sdk-clients.js';

/**
 * Every way an SDK call fails: refused before sending (with the code the
 * server would answer), refused by a server, no ack in time, no connection,
 * a closed client, a connection gone for good. Always a RealtimeError with
 * one of the registry's codes.
 */

async function rejection(promise: Promise<unknown>): Promise<RealtimeError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(RealtimeError);
  const realtime = error as RealtimeError;
  expect(ERROR_CODES).toContain(realtime.code);
  return realtime;
}

describe('SDK errors', () => {
  it('refuses before sending what the server would refuse: bad ids, reserved names, messages over 64 KiB in UTF-8', async () => {
    const node = await startServerProcess({ nodeId: 'sdk-local' });
    const rt = sdkClient(node.url);
    expect((await rejection(rt.joinChannel('join-room'))).code).toBe('INVALID_PAYLOAD');
    expect((await rejection(rt.joinChannel(''))).code).toBe('INVALID_PAYLOAD');
    expect((await rejection(rt.joinRoom('c', 'a\u0000b'))).code).toBe('INVALID_PAYLOAD');
    expect(rt.memberships()).toEqual([]);

    const ch = await rt.joinChannel('big');
    const got = recordTopic(ch, 'message');
    const tooLarge = await rejection(ch.send('a'.repeat(65_537)));
    expect(tooLarge).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', retryable: false, message: expect.stringContaining('65536 bytes') });
    // 21 846 × 3 bytes: over in UTF-8 though under in UTF-16 units.
    expect((await rejection(ch.send('€'.repeat(21_846)))).code).toBe('PAYLOAD_TOO_LARGE');
    await ch.send('€'.repeat(21_845));
    await ch.send('a'.repeat(65_536));
    await vi.waitFor(() => expect(got.map((e) => e.data.message.length)).toEqual([21_845, 65_536]));
  });

  it('the server’s refusals keep their codes: PAYLOAD_TOO_LARGE, LIMIT_EXCEEDED, RATE_LIMITED (retryable)', async () => {
    const node = await startServerProcess({
      nodeId: 'sdk-limits',
      env: { MAX_SUBSCRIPTIONS_PER_CONNECTION: '2', RATE_LIMIT_EVENTS_PER_SECOND: '1', RATE_LIMIT_BURST: '4' },
    });
    // Local checks raised above the server's limit: the server's refusal is what comes back.
    const rt = sdkClient(node.url, { limits: { maxMessageBytes: 1_000_000 } });
    const ch = await rt.joinChannel('one');
    await rt.joinRoom('one', 'r');
    expect(await rejection(rt.joinChannel('three'))).toMatchObject({ code: 'LIMIT_EXCEEDED', retryable: false });
    expect(await rejection(ch.send('x'.repeat(70_000)))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining('65536'),
    });
    // The burst of 4 is spent; the next event in the same second is refused.
    expect(await rejection(ch.send('too fast'))).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    // A refused join left nothing behind in the SDK.
    expect(rt.memberships().map((m) => m.channel + (m.roomId ?? ''))).toEqual(['one', 'oner']);
  });

  it('TIMEOUT when no ack comes (a stopped node); a join that timed out is undone once the node runs again', async () => {
    const node = await startServerProcess({ nodeId: 'sdk-stalled' });
    const rt = sdkClient(node.url);
    const ch = await rt.joinChannel('stalled-send');
    node.signal('SIGSTOP');
    try {
      expect(await rejection(ch.send('into the void', { timeoutMs: 300 }))).toMatchObject({ code: 'TIMEOUT', retryable: true });
      expect(await rejection(rt.joinChannel('stalled-join', { timeoutMs: 300 }))).toMatchObject({ code: 'TIMEOUT' });
    } finally {
      node.signal('SIGCONT');
    }
    expect(rt.memberships().map((m) => m.channel)).toEqual(['stalled-send']);
    // The join was applied late, then the SDK's leave after it: nobody but the newcomer is in.
    const other = sdkClient(node.url);
    expect((await other.joinChannel('stalled-join')).onlineUsers).toBe(1);
    expect((await rt.joinChannel('stalled-join')).onlineUsers).toBe(2);
  });

  it('TIMEOUT when there is no connection: nothing is sent, connect_error says why', async () => {
    const port = await freePort();
    const rt = sdkClient(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    const errors: RealtimeError[] = [];
    rt.on('connect_error', (err) => errors.push(err));
    expect(await rejection(rt.joinChannel('nowhere', { timeoutMs: 400 }))).toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('not connected'),
    });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ code: 'UNAVAILABLE' });
    expect(rt.memberships()).toEqual([]);
  });

  it('close(): memberships end as left, calls then reject with UNAVAILABLE', async () => {
    const node = await startServerProcess({ nodeId: 'sdk-close' });
    const rt = sdkClient(node.url);
    const ch = await rt.joinChannel('closing');
    const lost: unknown[] = [];
    rt.on('lost', (m) => lost.push(m));
    rt.close();
    expect(ch.state).toBe('left');
    expect(rt.memberships()).toEqual([]);
    expect((await rejection(ch.send('after close'))).code).toBe('UNAVAILABLE');
    expect((await rejection(rt.joinChannel('again'))).code).toBe('UNAVAILABLE');
    expect(lost).toEqual([]);
  });

  it('with reconnection off, a lost connection loses every membership, each announced', async () => {
    const node = await startServerProcess({ nodeId: 'sdk-no-reconnect' });
    const rt = sdkClient(node.url, { reconnection: false });
    const ch = await rt.joinChannel('fragile');
    const room = await ch.joinRoom('r');
    const lost: MembershipInfo[] = [];
    rt.on('lost', (m, error) => {
      expect(error.code).toBe('UNAVAILABLE');
      lost.push(m);
    });
    const roomLost = recordTopic(room, 'lost');
    await node.stop();
    await vi.waitFor(() => expect(lost.map((m) => m.roomId)).toEqual([null, 'r']));
    expect(lost.every((m) => m.state === 'lost')).toBe(true);
    expect(roomLost).toHaveLength(1);
    expect([ch.state, room.state]).toEqual(['lost', 'lost']);
    expect((await rejection(ch.send('gone'))).code).toBe('NOT_A_MEMBER');
    expect((await rejection(rt.joinChannel('fragile'))).code).toBe('UNAVAILABLE');
  });
});
