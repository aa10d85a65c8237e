import { describe, expect, it } from 'vitest';
import { accountLosses } from '../src/loss-accounting.js';
import type { MembershipLog, StreamLog } from '../src/worker/protocol.js';

const stream = (refused: number[] = []): StreamLog => ({
  stream: 'a',
  topic: 'c:x',
  target: 0,
  sentAt: [100, 200, 300, 400, 500],
  refused,
});
const member = (joinedAt: number | null, leftAt: number | null, received: [number, number][], target = 0): MembershipLog => ({
  client: 1,
  target,
  topic: 'c:x',
  joinedAt,
  leftAt,
  received: { a: received },
});

describe('accountLosses', () => {
  it('a member for the whole run expects every message', () => {
    expect(accountLosses([stream()], [member(50, null, [[1, 5]])], 1, 0)).toEqual({ expected: 5, received: 5, lost: 0, lostByTarget: [0] });
    expect(accountLosses([stream()], [member(50, null, [[1, 3]])], 1, 0)).toMatchObject({ expected: 5, lost: 2 });
  });

  it('counts only messages sent after the join was acknowledged', () => {
    expect(accountLosses([stream()], [member(250, null, [[3, 5]])], 1, 0)).toMatchObject({ expected: 3, lost: 0 });
    // A message sent at the exact moment of the ack counts.
    expect(accountLosses([stream()], [member(300, null, [[4, 5]])], 1, 0)).toMatchObject({ expected: 3, lost: 1 });
  });

  it('a receiver that left must have stayed a member for the span after a send', () => {
    // Left at 520 with a 200 ms span: only messages sent by 320 were owed (1, 2, 3).
    expect(accountLosses([stream()], [member(50, 520, [[1, 3]])], 1, 200)).toMatchObject({ expected: 3, lost: 0 });
    expect(accountLosses([stream()], [member(50, 520, [[1, 2]])], 1, 200)).toMatchObject({ expected: 3, lost: 1 });
  });

  it('refused messages are owed to nobody; failed joins owe nothing', () => {
    expect(
      accountLosses(
        [stream([2, 5])],
        [
          member(50, null, [
            [1, 1],
            [3, 4],
          ]),
        ],
        1,
        0,
      ),
    ).toMatchObject({ expected: 3, lost: 0 });
    expect(accountLosses([stream()], [member(null, null, [])], 1, 0)).toMatchObject({ expected: 0, lost: 0 });
  });

  it('attributes losses to the receiver’s target', () => {
    const figures = accountLosses([stream()], [member(50, null, [[1, 5]], 0), member(50, null, [[1, 4]], 1)], 2, 0);
    expect(figures).toEqual({ expected: 10, received: 9, lost: 1, lostByTarget: [0, 1] });
  });
});
