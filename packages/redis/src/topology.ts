import { redactRedisUrl, type ParsedRedisUrl } from './redis-url.js';

/** A `host:port` of a seed node or a sentinel. */
export interface RedisEndpoint {
  host: string;
  port: number;
}

/** Credentials and TLS for sentinel and cluster mode (standalone carries them in its URL). */
export interface RedisAuth {
  username: string | undefined;
  /** Never logged: `describeTopology` shows only whether one is set. */
  password: string | undefined;
  tls: boolean;
}

/**
 * How to reach Redis, in one of three shapes. Only `describeTopology`'s
 * text may be logged: the other fields hold credentials.
 */
export type RedisTopology =
  | ({ kind: 'standalone' } & ParsedRedisUrl)
  | ({
      kind: 'sentinel';
      sentinels: readonly RedisEndpoint[];
      masterName: string;
      db: number;
      /** The sentinels' own credentials, when they require AUTH (often they do not while the data nodes do). */
      sentinelAuth: { username: string | undefined; password: string | undefined };
    } & RedisAuth)
  | ({ kind: 'cluster'; nodes: readonly RedisEndpoint[] } & RedisAuth);

function endpoints(list: readonly RedisEndpoint[]): string {
  return list.map((e) => `${e.host}:${e.port}`).join(',');
}

function authNote(auth: RedisAuth): string {
  const user = auth.username === undefined ? '' : ` as ${auth.username}`;
  return `${user}${auth.password === undefined ? '' : ' with a password'}${auth.tls ? ' over TLS' : ''}`;
}

/** What this topology is, in words, with no secret in it: the form for logs and errors. */
export function describeTopology(topology: RedisTopology): string {
  switch (topology.kind) {
    case 'standalone':
      return redactRedisUrl(topology.url);
    case 'sentinel':
      return `master ${topology.masterName} of sentinels ${endpoints(topology.sentinels)}${authNote(topology)}`;
    case 'cluster':
      return `Redis Cluster seeded by ${endpoints(topology.nodes)}${authNote(topology)}`;
  }
}

/**
 * Parses `host:port,host:port` (IPv6 as `[::1]:6379`); returns a message
 * naming `variable` when the list is unusable.
 */
export function parseEndpoints(variable: string, raw: string, defaultPort: number): RedisEndpoint[] | string {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) return `${variable} must list at least one host:port`;
  const result: RedisEndpoint[] = [];
  for (const entry of entries) {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(entry);
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (match === null || port < 1 || port > 65535) {
      return `${variable} entries must be host:port (e.g. redis-0.redis:6379 or [::1]:6379), got "${entry}"`;
    }
    result.push({ host: (match[1] ?? match[2]) as string, port });
  }
  return result;
}
