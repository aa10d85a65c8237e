import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '@realtime/protocol';
import { Membership } from '../src/membership.js';
import { RealtimeError, errorFromAckFailure, errorFromConnectError } from '../src/realtime-error.js';
import { rejoinMembership, type RejoinSteps } from '../src/rejoin.js';

/** One rejoin, with scripted answers to its joins. */
function scripted(answers: (number | RealtimeError)[], current = () => true) {
  const membership = new Membership({ kind: 'channel', channel: 'c', roomId: null });
  membership.state = 'restoring';
  const calls = { joins: 0, undos: 0, lost: [] as RealtimeError[] };
  const steps: RejoinSteps = {
    current,
    join: () => {
      const answer = answers[calls.joins++];
      if (answer === undefined) throw new Error('no more answers');
      return answer instanceof RealtimeError ? Promise.reject(answer) : Promise.resolve({ onlineUsers: answer });
    },
    undo: () => calls.undos++,
    lose: (error) => {
      calls.lost.push(error);
      membership.state = 'lost';
    },
  };
  return { membership, steps, calls };
}

describe('rejoining one membership', () => {
  it('joined again: the count from the ack, a rejoin event, queued sends flushed', async () => {
    const { membership, steps } = scripted([4]);
    const rejoins: (number | undefined)[] = [];
    membership.events.on('rejoin', (n) => rejoins.push(n));
    const sent: string[] = [];
    membership.queue.push({ send: () => sent.push('queued'), reject: () => sent.push('rejected') });
    expect(await rejoinMembership(membership, steps)).toMatchObject({ kind: 'rejoined', membership: { state: 'joined', onlineUsers: 4 } });
    expect([membership.state, membership.onlineUsers, rejoins, sent]).toEqual(['joined', 4, [4], ['queued']]);
  });

  it('retries RATE_LIMITED and INTERNAL, then succeeds', async () => {
    vi.useFakeTimers();
    try {
      const { membership, steps, calls } = scripted([
        new RealtimeError(ErrorCode.RATE_LIMITED, 'slow down'),
        new RealtimeError(ErrorCode.INTERNAL, 'oops'),
        2,
      ]);
      const outcome = rejoinMembership(membership, steps);
      await vi.runAllTimersAsync();
      expect(await outcome).toMatchObject({ kind: 'rejoined' });
      expect(calls.joins).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a refusal for good loses it at once; retries that keep timing out lose it, and the last join is undone', async () => {
    const refused = scripted([new RealtimeError(ErrorCode.LIMIT_EXCEEDED, 'too many')]);
    expect(await rejoinMembership(refused.membership, refused.steps)).toMatchObject({ kind: 'lost', error: { code: 'LIMIT_EXCEEDED' } });
    expect([refused.calls.joins, refused.calls.undos, refused.calls.lost.map((e) => e.code)]).toEqual([1, 0, ['LIMIT_EXCEEDED']]);

    vi.useFakeTimers();
    try {
      const timeout = () => new RealtimeError(ErrorCode.TIMEOUT, 'no ack');
      const stalled = scripted([timeout(), timeout(), timeout(), timeout()]);
      const outcome = rejoinMembership(stalled.membership, stalled.steps);
      await vi.runAllTimersAsync();
      expect(await outcome).toMatchObject({ kind: 'lost', error: { code: 'TIMEOUT' } });
      expect([stalled.calls.joins, stalled.calls.undos]).toEqual([4, 1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a connection lost meanwhile leaves it restoring for the next connection', async () => {
    let current = true;
    const { membership, steps, calls } = scripted([new RealtimeError(ErrorCode.UNAVAILABLE, 'gone')], () => current);
    expect(await rejoinMembership(membership, steps)).toEqual({ kind: 'skipped' });
    expect([membership.state, calls.lost]).toEqual(['restoring', []]);
    current = false;
    expect(await rejoinMembership(membership, steps)).toEqual({ kind: 'skipped' });
    expect(calls.joins).toBe(1);
  });

  it('left meanwhile: nothing is sent', async () => {
    const { membership, steps, calls } = scripted([1]);
    membership.state = 'left';
    expect(await rejoinMembership(membership, steps)).toEqual({ kind: 'skipped' });
    expect(calls.joins).toBe(0);
  });
});

describe('RealtimeError', () => {
  it('takes retryable from the registry and is recognisable by name', () => {
    const error = new RealtimeError(ErrorCode.UNAVAILABLE, 'down');
    expect([error.name, error.code, error.retryable, error instanceof Error]).toEqual(['RealtimeError', 'UNAVAILABLE', true, true]);
    expect(new RealtimeError(ErrorCode.NOT_A_MEMBER, 'x').retryable).toBe(false);
  });
});

describe('acknowledgement failures', () => {
  it('keep the server’s code; a code this SDK does not know becomes INTERNAL, naming it', () => {
    expect(errorFromAckFailure({ ok: false, error: { code: 'NOT_A_MEMBER', message: 'join first' } })).toMatchObject({
      code: 'NOT_A_MEMBER',
      message: 'join first',
    });
    expect(errorFromAckFailure({ ok: false, error: { code: 'SHINY_NEW', message: 'm' } })).toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('SHINY_NEW'),
    });
    expect(errorFromAckFailure({ ok: false })).toMatchObject({ code: 'INTERNAL' });
    const refused = Object.assign(new Error('CONNECTION_LIMIT'), {
      data: { code: 'CONNECTION_LIMIT', message: 'one socket per connection' },
    });
    expect(errorFromConnectError(refused)).toMatchObject({ code: 'CONNECTION_LIMIT', message: 'one socket per connection' });
    expect(errorFromConnectError(new Error('xhr poll error'))).toMatchObject({ code: 'UNAVAILABLE' });
  });
});
