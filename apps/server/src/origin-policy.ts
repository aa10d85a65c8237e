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

/**
 * Lets a refused page read its refusal. Without an
 * `Access-Control-Allow-Origin` for its own origin, a browser hides the 403
 * and socket.io-client reports only "xhr poll error". The response holds
 * nothing but the refusal, and credentials are not allowed, so this
 * exposes nothing else. An Engine.IO middleware: it runs before the
 * handshake check (`allowRequest`) on every request.
 */
export function refusalReadableByRefusedOrigin(origins: Config['corsOrigins']) {
  return (
    req: IncomingMessage,
    res: { setHeader(name: string, value: string): unknown; removeHeader?(name: string): unknown },
    next: (err?: Error) => void,
  ): void => {
    const origin = req.headers.origin;
    if (origin !== undefined && !isOriginAllowed(origins, req)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      // The CORS middleware (run first) sets this for every origin when CORS_ORIGINS lists some.
      res.removeHeader?.('Access-Control-Allow-Credentials');
    }
    next();
  };
}

/** Longest origin quoted in a log line: the header is client-controlled. */
const MAX_LOGGED_ORIGIN_LENGTH = 200;
/** Origins remembered for log throttling; past this, the memory is reset (a flood gets one line per minute per reset). */
const MAX_TRACKED_ORIGINS = 1000;

/**
 * Counts every refusal and logs each refused origin at most once per
 * `intervalMs` (default one minute), so a misconfigured page is visible
 * without a flood of lines; memory is bounded by MAX_TRACKED_ORIGINS.
 */
export class OriginRefusalReporter {
  private readonly lastLoggedAt = new Map<string, number>();

  constructor(
    private readonly report: { count(): void; log(origin: string, refusalsSinceLastLine: number): void },
    private readonly intervalMs = 60_000,
  ) {}

  private readonly suppressed = new Map<string, number>();

  refused(originHeader: string | undefined, now = Date.now()): void {
    this.report.count();
    const origin = (originHeader ?? '').slice(0, MAX_LOGGED_ORIGIN_LENGTH);
    const last = this.lastLoggedAt.get(origin);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(origin, (this.suppressed.get(origin) ?? 0) + 1);
      return;
    }
    if (this.lastLoggedAt.size >= MAX_TRACKED_ORIGINS) {
      this.lastLoggedAt.clear();
      this.suppressed.clear();
    }
    this.lastLoggedAt.set(origin, now);
    this.report.log(origin, (this.suppressed.get(origin) ?? 0) + 1);
    this.suppressed.delete(origin);
  }
}
