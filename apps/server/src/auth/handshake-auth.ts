import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { RealtimeServer } from '../socket-types.js';
import type { Authorizer } from './authorizer.js';

/**
 * The handshake's token: `auth: { token }` (socket.io-client's `auth`
 * option) first, else an `Authorization: Bearer` header. An empty value is
 * no token.
 */
export function handshakeToken(auth: unknown, headers: IncomingHttpHeaders): string | undefined {
  const fromAuth = (auth as { token?: unknown } | null | undefined)?.token;
  if (typeof fromAuth === 'string' && fromAuth !== '') return fromAuth;
  const header = headers.authorization;
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Authenticates every Socket.IO connection in the namespace middleware, so a
 * refusal is a CONNECT_ERROR: socket.io-client emits `connect_error` (its
 * `message` the code, its `data` `{ code, message }`) and does not reconnect,
 * and the Engine.IO session is closed with its last socket. Sets
 * `socket.data.principal` before the connection exists. Register it before
 * every other namespace middleware. Tokens are never logged.
 */
export function authenticateHandshakes(io: RealtimeServer, authorizer: Authorizer, metrics: Metrics, logger: Logger): void {
  io.use((socket, next) => {
    const token = handshakeToken(socket.handshake.auth, socket.handshake.headers);
    authorizer.authenticate(token).then(
      (result) => {
        if (result.ok) {
          socket.data.principal = result.principal;
          return next();
        }
        metrics.authRefusals.inc({ code: result.code });
        logger.debug({ socketId: socket.id, code: result.code, reason: result.message }, 'connection refused');
        const err = new Error(result.code) as Error & { data: unknown };
        err.data = { code: result.code, message: result.message };
        next(err);
      },
      (err: unknown) => {
        logger.error({ err, socketId: socket.id }, 'authentication failed');
        const refusal = new Error('AUTH_INVALID') as Error & { data: unknown };
        refusal.data = { code: 'AUTH_INVALID', message: 'the token could not be verified' };
        next(refusal);
      },
    );
  });
}
