import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'socket.io';
import type { Config } from './config.js';

/**
 * CORS_ORIGINS applied twice: as CORS headers on HTTP long-polling (what a
 * browser enforces), and as a check of the `Origin` header of every new
 * Engine.IO session, WebSocket upgrades included, which CORS does not cover.
 * Requests without `Origin` (most non-browser clients) and same-origin
 * requests (Origin matches Host) always pass.
 */
export function corsOptions(origins: Config['corsOrigins']): ServerOptions['cors'] {
  if (origins === '*') return { origin: '*' };
  if (origins.length === 0) return undefined;
  // Credentials: a listed page may send cookies with its polling requests,
  // which is how a cookie-based sticky-session load balancer (ingress-nginx
  // affinity) keeps them on one node. Browsers never allow this with `*`.
  return { origin: [...origins], credentials: true };
}

export function isOriginAllowed(origins: Config['corsOrigins'], req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origins === '*') return true;
  if (origins.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export function originRefusal(req: IncomingMessage): string {
  return `origin ${req.headers.origin ?? ''} is not allowed: the operator must add it to CORS_ORIGINS`;
}
