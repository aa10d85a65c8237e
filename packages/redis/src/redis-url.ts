/**
 * REDIS_URL handling: parsed once at start-up, and shown only redacted.
 * Guarantee: `redactRedisUrl` never returns the password (or the user name
 * paired with it) of the URL it is given, whatever the URL looks like.
 */

export interface ParsedRedisUrl {
  /** The URL as given (holds the credentials: never log it). */
  url: string;
  /** `redis://:***@host:port/db`: safe for logs and error messages. */
  redacted: string;
  tls: boolean;
  host: string;
  port: number;
  db: number;
}

/** Why a REDIS_URL is unusable, in words that name the fix; undefined when it is fine. */
export function redisUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'REDIS_URL must be a URL like redis://host:6379 or rediss://user:password@host:6380/0';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `REDIS_URL must start with redis:// or rediss://, got "${url.protocol}//…"`;
  }
  if (url.hostname === '') return 'REDIS_URL must name a host, e.g. redis://127.0.0.1:6379';
  const path = url.pathname;
  if (path !== '' && path !== '/' && !/^\/\d{1,5}$/.test(path)) {
    return `REDIS_URL's path must be a database number (redis://host:6379/0), got "${decodeURIComponent(path)}"`;
  }
  if (url.search !== '' || url.hash !== '') return 'REDIS_URL must not have a query string or fragment';
  return undefined;
}

/** Parses a URL that `redisUrlProblem` accepted. */
export function parseRedisUrl(raw: string): ParsedRedisUrl {
  const url = new URL(raw);
  const tls = url.protocol === 'rediss:';
  const path = url.pathname.replace(/^\//, '');
  return {
    url: raw,
    redacted: redactRedisUrl(raw),
    tls,
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db: path === '' ? 0 : Number(path),
  };
}

/**
 * `redis://user:secret@host:6379/2` → `redis://user:***@host:6379/2`;
 * `redis://:secret@host` → `redis://:***@host`. A string that is not a URL
 * is reduced to its scheme, so a malformed value with a password in it is
 * never echoed.
 */
export function redactRedisUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1];
    return scheme === undefined ? '(not a URL)' : `${scheme}://(unparseable)`;
  }
  const credentials = url.password !== '' ? `${url.username}:***@` : url.username !== '' ? '***@' : '';
  return `${url.protocol}//${credentials}${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

/** Replaces every `scheme://user:password@` in free text (error messages, stacks) by a redacted form. */
export function redactUrlsInText(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, '$1$2:***@');
}
