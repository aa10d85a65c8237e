import { ErrorCode } from '@realtime/protocol';
import type { AckResult } from './ack-call.js';
import { delay } from './deadline.js';
import type { Membership, MembershipInfo } from './membership.js';
import { RealtimeError, isRealtimeError } from './realtime-error.js';

export type RejoinOutcome =
  | { kind: 'rejoined'; membership: MembershipInfo }
  | { kind: 'lost'; membership: MembershipInfo; error: RealtimeError }
  /** Nothing to do (left meanwhile), or the connection dropped again: the next connection's round takes over. */
  | { kind: 'skipped' };

export interface RejoinSteps {
  /** Whether the connection this round was started for is still the current one. */
  current(): boolean;
  join(): Promise<AckResult>;
  /** Sends a leave for a join that may still be applied (after a TIMEOUT). */
  undo(): void;
  lose(error: RealtimeError): void;
}

/** Tries of one rejoin refused with a retryable code (RATE_LIMITED, INTERNAL, TIMEOUT), and the waits between them. */
const RETRY_DELAYS_MS = [250, 1_000, 2_000];

/**
 * Joins one membership again on a new connection. Retryable refusals are
 * tried again a few times; a refusal for good (or the last retry) loses the
 * membership, announced by the `lose` step. A dropped connection leaves it
 * `restoring` for the next round.
 */
export async function rejoinMembership(membership: Membership, steps: RejoinSteps): Promise<RejoinOutcome> {
  for (let attempt = 0; ; attempt++) {
    if (membership.state !== 'restoring' || !steps.current()) return { kind: 'skipped' };
    try {
      const ack = await steps.join();
      if (membership.state !== 'restoring' || !steps.current()) return { kind: 'skipped' };
      membership.state = 'joined';
      if (ack.onlineUsers !== undefined) membership.onlineUsers = ack.onlineUsers;
      membership.events.emit('rejoin', ack.onlineUsers);
      membership.flushQueue();
      return { kind: 'rejoined', membership: membership.info() };
    } catch (err) {
      const error = isRealtimeError(err) ? err : new RealtimeError(ErrorCode.INTERNAL, String(err), { cause: err });
      if (!steps.current() || error.code === ErrorCode.UNAVAILABLE) return { kind: 'skipped' };
      const wait = RETRY_DELAYS_MS[attempt];
      if (error.retryable && wait !== undefined) {
        await delay(error.code === ErrorCode.RATE_LIMITED ? Math.max(wait, 1_000) : wait);
        continue;
      }
      if (error.code === ErrorCode.TIMEOUT) steps.undo();
      steps.lose(error);
      return { kind: 'lost', membership: membership.info(), error };
    }
  }
}
