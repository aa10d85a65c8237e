import type { Logger } from 'pino';
import { ErrorCode } from '@realtime/protocol';
import type { RevocationList } from './auth/revocation-list.js';
import type { Metrics } from './metrics.js';
import { closeConnection } from './server-close.js';
import type { RealtimeServer, RealtimeSocket } from './socket-types.js';
import type { UserConnections } from './user-connections.js';

/** Server-side events between nodes (never sent to clients). */
const REVOKE_USER_EVENT = 'realtime:revoke-user';
const REVOKE_CONNECTION_EVENT = 'realtime:revoke-connection';

/**
 * Both Redis adapters give up waiting for other nodes' answers after 5 s
 * (then answer with what came); this is the safety net past that, for when
 * the adapter never answers at all (the classic adapter swallows a failed
 * count of the nodes).
 */
const ADAPTER_ANSWER_LIMIT_MS = 6_000;

const USER_REVOKED = 'this user was disconnected by the service (REVOKED): sign in again';
const CONNECTION_REVOKED = 'this connection was closed by the service (REVOKED): sign in again';

/** The other nodes could not be asked (Redis unreachable): this node's connections were closed regardless. */
export class ClusterUnavailableError extends Error {}

export type UserRevocation = { ok: true; disconnected: number } | { ok: false; message: string };

export interface ConnectionRevoker {
  /**
   * Closes every connection of `userId` on every node with a terminal
   * server-close REVOKED, and with `issuedBeforeS` first records that its
   * tokens issued before then are revoked. `disconnected` counts the
   * connections closed on this node and on every node that answered.
   */
  revokeUser(userId: string, issuedBeforeS: number | undefined): Promise<UserRevocation>;
  /** Closes one connection, wherever it is, with REVOKED; how many were closed (0 or 1). Rejects with ClusterUnavailableError. */
  revokeConnection(clientId: string): Promise<number>;
}

interface RevokerOptions {
  io: RealtimeServer;
  users: UserConnections;
  revocations: RevocationList;
  metrics: Metrics;
  logger: Logger;
  /** Whether other nodes exist to ask (a Redis adapter): false for an embedded node. */
  clustered: boolean;
  /** Whether the adapter can publish right now: when it cannot, the other nodes are not asked. */
  brokerAvailable: () => boolean;
}

/**
 * Cluster-wide closes with REVOKED. Each node closes its own connections
 * and answers how many, through the adapter's server-side emit with acks.
 * Guarantees: every node that receives the request closes the connections
 * at once (a terminal close: socket.io-client does not reconnect); the
 * answer never waits more than about 5 s for a node that does not answer (it
 * is then left out of the count, and a warning says so); an adapter that
 * cannot ask is a ClusterUnavailableError, never a hang or an unhandled
 * rejection. Every node that receives a user revocation with a time
 * remembers it, so a handshake there is refused even while Redis cannot be read.
 */
export function connectionRevoker(options: RevokerOptions): ConnectionRevoker {
  const { io, users, revocations, metrics, logger } = options;

  const closeAll = (sockets: readonly RealtimeSocket[], message: string): number => {
    let closed = 0;
    for (const socket of sockets) {
      if (socket.conn.readyState !== 'open') continue;
      closeConnection(metrics, socket, ErrorCode.REVOKED, message);
      closed++;
    }
    return closed;
  };
  const closeUser = (userId: string): number => closeAll(users.of(userId), USER_REVOKED);
  const closeClient = (clientId: string): number => {
    const socket = io.of('/').sockets.get(clientId);
    return socket === undefined ? 0 : closeAll([socket], CONNECTION_REVOKED);
  };

  // A handshake checked just before a revocation reached this node becomes a
  // connection after it, too late for the broadcast's close: checked again here,
  // against what this node now remembers (no Redis read), so the broadcast
  // and the handshake cannot pass each other.
  io.on('connection', (socket) => {
    const { userId, issuedAt } = socket.data.principal;
    if (userId === undefined) return;
    const revokedBefore = revocations.remembered(userId);
    if (revokedBefore !== undefined && (issuedAt === undefined || issuedAt < revokedBefore)) closeAll([socket], USER_REVOKED);
  });
  io.on(REVOKE_USER_EVENT, (request: unknown, ack: unknown) => {
    const { userId, issuedBeforeS } = (request ?? {}) as { userId?: unknown; issuedBeforeS?: unknown };
    if (typeof userId !== 'string') return;
    if (typeof issuedBeforeS === 'number') revocations.remember(userId, issuedBeforeS);
    const closed = closeUser(userId);
    if (typeof ack === 'function') (ack as (closed: number) => void)(closed);
  });
  io.on(REVOKE_CONNECTION_EVENT, (request: unknown, ack: unknown) => {
    const { clientId } = (request ?? {}) as { clientId?: unknown };
    if (typeof clientId !== 'string') return;
    const closed = closeClient(clientId);
    if (typeof ack === 'function') (ack as (closed: number) => void)(closed);
  });

  /** The other nodes' answers, summed; `complete` false when some did not answer in time. */
  const askOthers = (event: string, request: object): Promise<{ closed: number; complete: boolean }> => {
    if (!options.clustered) return Promise.resolve({ closed: 0, complete: true });
    if (!options.brokerAvailable()) return Promise.reject(new ClusterUnavailableError('the Redis publisher is not connected'));
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        finish();
      };
      const timer = setTimeout(
        () => settle(() => reject(new ClusterUnavailableError('the adapter did not answer'))),
        ADAPTER_ANSWER_LIMIT_MS,
      );
      const ack = (err: unknown, responses: unknown): void => {
        const answers = Array.isArray(responses) ? responses : [];
        let closed = 0;
        for (const n of answers) if (Number.isSafeInteger(n) && (n as number) > 0) closed += n as number;
        settle(() => resolve({ closed, complete: err === null || err === undefined }));
      };
      const fail = (err: unknown): void =>
        settle(() => reject(new ClusterUnavailableError(err instanceof Error ? err.message : 'the adapter failed')));
      try {
        // The adapter directly, not Namespace#serverSideEmit: the sharded adapter's
        // promise rejects when Redis cannot count the nodes, and must be caught here.
        const pending: unknown = io.of('/').adapter.serverSideEmit([event, request, ack]);
        if (pending instanceof Promise) pending.catch(fail);
      } catch (err) {
        fail(err);
      }
    });
  };

  const warnIncomplete = (what: string, complete: boolean): void => {
    if (!complete) logger.warn({ event: 'revocation-incomplete' }, `${what}: some nodes did not answer within 5 s and are not counted`);
  };

  return {
    async revokeUser(userId, issuedBeforeS) {
      let stored = true;
      if (issuedBeforeS !== undefined) {
        try {
          await revocations.revoke(userId, issuedBeforeS);
        } catch (err) {
          // Answered 503 (counted in realtime_api_requests_total): the caller retries.
          stored = false;
          logger.warn({ err, event: 'revocation-not-stored', userId }, 'the revocation could not be stored in Redis: only the nodes remember it');
        }
      }
      const others = askOthers(REVOKE_USER_EVENT, issuedBeforeS === undefined ? { userId } : { userId, issuedBeforeS });
      const local = closeUser(userId);
      let answered: { closed: number; complete: boolean };
      try {
        answered = await others;
      } catch (err) {
        logger.warn({ err, event: 'revocation-not-broadcast', userId }, 'the other nodes could not be asked to close the user');
        return { ok: false, message: `closed ${local} connections on this node, but the other nodes could not be asked (Redis unreachable): retry` };
      }
      warnIncomplete(`revoking user ${userId}`, answered.complete);
      const disconnected = local + answered.closed;
      logger.info({ event: 'user-revoked', userId, disconnected, issuedBefore: issuedBeforeS }, `closed ${disconnected} connections of user ${userId}`);
      if (!stored) {
        return { ok: false, message: `closed ${disconnected} connections, but the revocation could not be stored (Redis unreachable): retry` };
      }
      return { ok: true, disconnected };
    },

    async revokeConnection(clientId) {
      const others = askOthers(REVOKE_CONNECTION_EVENT, { clientId });
      const local = closeClient(clientId);
      let answered: { closed: number; complete: boolean };
      try {
        answered = await others;
      } catch (err) {
        // Found here: closed, whatever the other nodes could have said.
        if (local > 0) return local;
        throw err;
      }
      warnIncomplete(`closing connection ${clientId}`, answered.complete);
      return local + answered.closed;
    },
  };
}
