import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { BlockList } from 'node:net';
import { ERROR_REGISTRY, ErrorCode } from '@realtime/protocol';
import { clientAddress } from './client-address.js';
import type { HandshakeLimiter } from './handshake-limiter.js';

interface MiddlewareResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string): unknown;
}

/** Whether the request asks for a new Engine.IO session: no `sid` (a polling open or a direct WebSocket). */
function isHandshake(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 || !new URLSearchParams(url.slice(query + 1)).has('sid');
}

/**
 * HANDSHAKE_RATE_PER_IP as an Engine.IO middleware, which runs before any
 * session is allocated. Guarantee: a handshake over the limit of its client
 * address (client-address.ts) is answered `429` with `Retry-After` (seconds)
 * and `{ code: "RATE_LIMITED", message }`, a polling open and a direct
 * WebSocket upgrade alike, and Engine.IO never sees it; requests of existing
 * sessions are not counted.
 */
export function handshakeRateLimit(options: {
  limiter: HandshakeLimiter;
  trusted: BlockList;
  limit: number;
  windowMs: number;
  onRefused: () => void;
}) {
  const { limiter, trusted, limit, windowMs } = options;
  const message = `at most ${limit} connection handshakes per ${windowMs / 1000} s from one address`;
  const status = ERROR_REGISTRY[ErrorCode.RATE_LIMITED].httpStatus;
  return (req: IncomingMessage, res: MiddlewareResponse, next: (err?: Error) => void): void => {
    if (!isHandshake(req)) return next();
    limiter.take(clientAddress(req, trusted)).then(
      (decision) => {
        if (decision.allowed) return next();
        options.onRefused();
        const body = JSON.stringify({ code: ErrorCode.RATE_LIMITED, message });
        const headers = { 'Content-Type': 'application/json', 'Retry-After': String(decision.retryAfterSeconds) };
        if (req.headers.upgrade === undefined) {
          res.writeHead(status, headers);
          res.end(body);
          return;
        }
        // Engine.IO's stand-in response for upgrades writes nothing: the answer goes on the socket itself.
        writeRawResponse(req.socket, status, headers, body);
      },
      // The limiter never rejects (it falls back to the node's own window); should it, the handshake goes ahead.
      () => next(),
    );
  };
}

function writeRawResponse(socket: Socket, status: number, headers: Record<string, string>, body: string): void {
  if (!socket.writable) return void socket.destroy();
  const lines = [`HTTP/1.1 ${status} Too Many Requests`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
