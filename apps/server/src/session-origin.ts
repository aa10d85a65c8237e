import type { IncomingMessage } from 'node:http';
import type { Config } from './config.js';
import { isOriginAllowed, originRefusal } from './origin-policy.js';

/** The response API this middleware uses: Node's ServerResponse for polling, Engine.IO's stand-in for upgrades. */
interface MiddlewareResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string): unknown;
}

/** Engine.IO's error code for a refused request (its own handshake refusals carry it too). */
const ENGINE_IO_FORBIDDEN = 4;

/**
 * CORS_ORIGINS on every request of an existing session, not only on its
 * handshake: Engine.IO checks `allowRequest` when a session is created,
 * and a request with a `sid` goes straight to the session (engine.io#552),
 * so a page of a refused origin that learned a session id could poll it or
 * post into it. Guarantee: a request carrying `sid` whose Origin is refused
 * is answered `403` `{ code: 4, message }` (a long-polling request) or has
 * its upgrade refused (`400`, Engine.IO's answer to every refused upgrade),
 * and never reaches the session, which stays open for its own client.
 * An Engine.IO middleware: it runs before the session lookup.
 */
export function originCheckedOnSessionRequests(origins: Config['corsOrigins'], onRefused: (origin: string | undefined) => void) {
  return (req: IncomingMessage, res: MiddlewareResponse, next: (err?: Error) => void): void => {
    if (origins === '*' || req.headers.origin === undefined || !hasSessionId(req) || isOriginAllowed(origins, req)) return next();
    onRefused(req.headers.origin);
    const message = originRefusal(req);
    if (req.headers.upgrade !== undefined) return next(new Error(message));
    res.writeHead(403, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ code: ENGINE_IO_FORBIDDEN, message }));
    // `next` is not called: the request is answered, and Engine.IO never sees it.
  };
}

function hasSessionId(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query !== -1 && new URLSearchParams(url.slice(query + 1)).has('sid');
}
