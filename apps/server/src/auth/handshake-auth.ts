import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { RealtimeServer } from '../socket-types.js';
import type { Authorizer } from './authorizer.js';

/** Stands for a token that is there but cannot be one (never a valid JWT, so it is refused as AUTH_INVALID). */
const MALFORMED = 'malformed';

/**
 * The handshake's token: `auth: { token }` (socket.io-client's `auth`
 * option) first, else an `Authorization: Bearer` header. An absent or empty
 * value is no token; a `token` that is not a string, or a Bearer header
 * without exactly one token, is a bad token (so `optional` mode refuses it
 * rather than treat it as anonymous). Other Authorization schemes are not ours and are ignored.
 */
export function handshakeToken(auth: unknown, headers: IncomingHttpHeaders): string | undefined {
  const fromAuth = (auth as { token?: unknown } | null | undefined)?.token;
  if (typeof fromAuth === 'string' && fromAuth !== '') return fromAuth;
  if (fromAuth !== undefined && fromAuth !== null && fromAuth !== '') return MALFORMED;
  const header = headers.authorization;
  if (header === undefined || !/^Bearer(\s|$)/i.test(header)) return undefined;
  return /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header)?.[1] ?? MALFORMED;
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
