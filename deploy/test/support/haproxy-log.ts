import { readFileSync } from 'node:fs';

/** One line of HAProxy's `option httplog` access log. */
export interface AccessLine {
  frontend: string;
  backend: string;
  /** The server (node id) that answered, or `<NOSRV>` when HAProxy answered itself. */
  server: string;
  status: number;
  method: string;
  /** Path and query, as the client sent them. */
  uri: string;
  /** The `sid` query parameter (an Engine.IO session), if any. */
  sid: string | undefined;
}

// client:port [accept date] frontend backend/server timers status bytes cookies(2) termination conns queues "METHOD URI HTTP/x"
const HTTPLOG = /^\S+ \[[^\]]+\] (\S+) ([^/\s]+)\/(\S+) \S+ (-?\d+) \S+ \S+ \S+ \S+ \S+ \S+ "(\S+) (\S+)[^"]*"$/;

export function parseAccessLine(line: string): AccessLine {
  const m = HTTPLOG.exec(line);
  if (m === null) throw new Error(`not an httplog line: ${line}`);
  const uri = m[6] as string;
  return {
    frontend: m[1] as string,
    backend: m[2] as string,
    server: m[3] as string,
    status: Number(m[4]),
    method: m[5] as string,
    uri,
    sid: new URL(uri, 'http://lb').searchParams.get('sid') ?? undefined,
  };
}

/** Every request logged so far (lines are written when a request ends: a pending long poll is not there yet). */
export function readAccessLog(path: string): AccessLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(parseAccessLine);
}
