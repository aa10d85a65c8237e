import type { Logger } from 'pino';
import { ErrorCode, ackFailure, validateAuthRefresh, type AuthRefreshAck } from '@realtime/protocol';
import { leaveEnvelope } from '../envelopes.js';
import type { LeaveTopic } from '../leave-topic.js';
import type { Metrics } from '../metrics.js';
import { closeConnection } from '../server-close.js';
import type { RealtimeSocket } from '../socket-types.js';
import { isTopic, parseTopic } from '../topics.js';
import type { Authorizer, Principal } from './authorizer.js';
import { allows } from './channel-grants.js';
import type { ExpiryScheduler } from './expiry-scheduler.js';

export interface TokenRefreshDeps {
  /** The same authorizer as the handshake's: whatever it refuses there (REVOKED included), a refresh refuses too. */
  authorizer: Authorizer;
  expiry: ExpiryScheduler<RealtimeSocket>;
  leaveTopic: LeaveTopic;
  metrics: Metrics;
  logger: Logger;
}

type RefreshAckFn = (response: AuthRefreshAck) => void;

/**
 * `auth-refresh` `{ token }`: a new token for a live connection. Outcomes,
 * the same with and without an ack (the ack only reports):
 * - valid, same `sub`: the principal is replaced (grants, name, `exp`), the
 *   expiry is rescheduled from the new token, and the connection leaves
 *   every channel and room the new grants no longer let it join (leave-*
 *   on every node, counts announced) before the ack `{ ok: true, expiresAt }`.
 *   No reconnect, no leave/join of anything still allowed.
 * - refused AUTH_INVALID or AUTH_EXPIRED: only the ack says so; the
 *   connection keeps its current token and closes when that one expires.
 * - refused REVOKED: ack, then `server-close` REVOKED (terminal).
 * - valid for another `sub`: ack FORBIDDEN, then `server-close` FORBIDDEN (terminal).
 * - an anonymous connection (AUTH_MODE=off, or no token in `optional`):
 *   FORBIDDEN, nothing closed: an identity is only ever set by a handshake.
 * A connection's refreshes are applied one at a time, in the order sent, so
 * an older token never replaces a newer one. Tokens are never logged.
 */
export function tokenRefresher({ authorizer, expiry, leaveTopic, metrics, logger }: TokenRefreshDeps) {
  const refuse = (socket: RealtimeSocket, ack: RefreshAckFn | undefined, code: ErrorCode, message: string): void => {
    metrics.refusedEvents.inc({ code });
    metrics.authRefreshes.inc({ outcome: code });
    logger.debug({ socketId: socket.id, code, reason: message }, 'auth-refresh refused');
    ack?.(ackFailure(code, message));
  };

  /** Leaves every topic whose channel `principal` may no longer join; resolves once every leave is written. */
  const narrow = async (socket: RealtimeSocket, principal: Principal): Promise<void> => {
    const serverTime = new Date().toISOString();
    const leaves: Promise<unknown>[] = [];
    for (const name of [...socket.rooms]) {
      if (!isTopic(name)) continue;
      const topic = parseTopic(name);
      if (topic === undefined || allows(principal.grants, topic.channel, 'join')) continue;
      leaves.push(leaveTopic(socket, name, topic.kind, leaveEnvelope(topic, socket.id, socket.data.identity, serverTime)));
    }
    await Promise.all(leaves);
  };

  const refresh = async (socket: RealtimeSocket, payload: unknown, ack: RefreshAckFn | undefined): Promise<void> => {
    const request = validateAuthRefresh(payload);
    if (!request.ok) return refuse(socket, ack, request.error.code, request.error.message);
    const current = socket.data.principal;
    if (current.userId === undefined) {
      return refuse(
        socket,
        ack,
        ErrorCode.FORBIDDEN,
        'this connection is anonymous: reconnect with the token in the handshake (auth: { token })',
      );
    }
    const acceptedAtMs = Date.now();
    const result = await authorizer.authenticate(request.token);
    // Gone while the token was checked: nothing to change, and no timer may be left behind.
    if (!socket.connected) return;
    if (!result.ok) {
      refuse(socket, ack, result.code, result.message);
      if (result.code === ErrorCode.REVOKED) closeConnection(metrics, socket, ErrorCode.REVOKED, result.message);
      return;
    }
    const next = result.principal;
    if (next.userId !== current.userId) {
      const message = 'the refreshed token is for another user: a connection keeps the user of its handshake';
      refuse(socket, ack, ErrorCode.FORBIDDEN, message);
      closeConnection(metrics, socket, ErrorCode.FORBIDDEN, message);
      return;
    }
    socket.data.principal = next;
    expiry.schedule(socket, next, acceptedAtMs);
    await narrow(socket, next);
    metrics.authRefreshes.inc({ outcome: 'ok' });
    ack?.(next.expiresAt === undefined ? { ok: true } : { ok: true, expiresAt: next.expiresAt });
  };

  return (socket: RealtimeSocket, payload: unknown, ack: RefreshAckFn | undefined): Promise<void> => {
    const previous = socket.data.authRefresh ?? Promise.resolve();
    const run = previous.then(
      () => refresh(socket, payload, ack),
      () => refresh(socket, payload, ack),
    );
    socket.data.authRefresh = run;
    return run;
  };
}
