import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * The node's settings, parsed once from the environment at start-up. Only
 * this file reads `process.env`; everything else takes a `Config`.
 * Each default is stated where the field is declared.
 */
export interface Config {
  /** PORT: HTTP and Socket.IO port. Default 3000. */
  port: number;
  /** HOST: listen address. Default 0.0.0.0. */
  host: string;
  /** REDIS_URL: the cluster's Redis. Unset = a single node with in-memory state. */
  redisUrl: string | undefined;
  /** REDIS_KEY_PREFIX: prefix of every key and pub/sub channel. Default `rt:`. */
  redisKeyPrefix: string;
  /** NODE_ID: this node's id in logs and presence. Default `<hostname>-<pid>-<random>`. */
  nodeId: string;
  /**
   * CORS_ORIGINS: exact origins allowed cross-origin, comma-separated, or `*`.
   * Default: none (requests without `Origin` and same-origin requests only).
   */
  corsOrigins: '*' | readonly string[];
  /** LOG_LEVEL: pino level. Default `info`. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** LOG_PRETTY: `true` for human-readable, colourised lines (pino-pretty) instead of JSON. Default false. */
  logPretty: boolean;
  /** MAX_HTTP_BUFFER_SIZE_BYTES: largest Socket.IO frame; a bigger one closes that connection. Default 1 000 000. */
  maxHttpBufferSizeBytes: number;
  /** MAX_MESSAGE_BYTES: largest `data.message` (UTF-8). Default 65 536. */
  maxMessageBytes: number;
  /** MAX_SUBSCRIPTIONS_PER_CONNECTION: channels + rooms one connection may be in. Default 100. */
  maxSubscriptionsPerConnection: number;
  /** RATE_LIMIT_EVENTS_PER_SECOND: sustained events per connection; 0 disables. Default 200. */
  rateLimitEventsPerSecond: number;
  /** RATE_LIMIT_BURST: events a connection may send at once above the rate. Default 400. */
  rateLimitBurst: number;
  /** HEARTBEAT_INTERVAL_MS: how often the node refreshes its liveness and reaps dead nodes. Default 1 500. */
  heartbeatIntervalMs: number;
  /** NODE_TTL_MS: a node silent this long is dead and reaped. Default 5 000 (≥ 2 × heartbeat). */
  nodeTtlMs: number;
  /** PRESENCE_ANNOUNCE_INTERVAL_MS: at most one count announcement per topic per interval per node. Default 250. */
  presenceAnnounceIntervalMs: number;
  /**
   * PRESENCE_EVENTS_MAX_MEMBERS: above this many members a channel's or
   * room's join-* / leave-* events are no longer sent, only its counts (as
   * Pusher and Ably cap presence). Default 0 = no limit, as the guide describes.
   */
  presenceEventsMaxMembers: number;
  /**
   * ADAPTER_MODE: `classic` (every node receives every cross-node broadcast
   * on one pattern subscription) or `sharded` (Redis 7 sharded pub/sub, one
   * channel per topic: a node receives only traffic for topics it has
   * members in). Default `classic`.
   */
  adapterMode: 'classic' | 'sharded';
  /** SHUTDOWN_GRACE_MS: how long a drain may take before the process exits anyway. Default 10 000. */
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** Node timers overflow above this (they fire at once): the cap of every `*_MS` setting. */
const MAX_TIMER_MS = 2_147_483_647;

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  // Plain decimal digits only: Number() would also take 0x10, 1e3 or 0b11.
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function parseOrigins(raw: string | undefined): Config['corsOrigins'] {
  if (raw === undefined || raw.trim() === '') return [];
  if (raw.trim() === '*') return '*';
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(`CORS_ORIGINS entries must be origins like https://app.example.com, got "${origin}"`);
    }
    if (url.origin !== origin) {
      throw new ConfigError(`CORS_ORIGINS entry "${origin}" must be an exact origin (scheme://host[:port]), i.e. "${url.origin}"`);
    }
    return origin;
  });
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const adapterMode = (env.ADAPTER_MODE?.trim() || 'classic') as Config['adapterMode'];
  if (adapterMode !== 'classic' && adapterMode !== 'sharded') {
    throw new ConfigError(`ADAPTER_MODE must be classic or sharded, got "${env.ADAPTER_MODE}"`);
  }
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got "${redisUrl}"`);
  }
  const heartbeatIntervalMs = integer(env, 'HEARTBEAT_INTERVAL_MS', 1500, 50, Math.floor(MAX_TIMER_MS / 2));
  const nodeTtlMs = integer(env, 'NODE_TTL_MS', 5000, 100, MAX_TIMER_MS);
  if (nodeTtlMs < 2 * heartbeatIntervalMs) {
    throw new ConfigError(
      `NODE_TTL_MS (${nodeTtlMs}) must be at least twice HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs}), or live nodes get reaped`,
    );
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    redisUrl,
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'rt:',
    nodeId: env.NODE_ID?.trim() || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    logLevel,
    logPretty: boolean(env, 'LOG_PRETTY', false),
    maxHttpBufferSizeBytes: integer(env, 'MAX_HTTP_BUFFER_SIZE_BYTES', 1_000_000, 1024),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', 64 * 1024, 0),
    maxSubscriptionsPerConnection: integer(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1),
    rateLimitEventsPerSecond: integer(env, 'RATE_LIMIT_EVENTS_PER_SECOND', 200, 0),
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', 400, 1),
    heartbeatIntervalMs,
    nodeTtlMs,
    presenceAnnounceIntervalMs: integer(env, 'PRESENCE_ANNOUNCE_INTERVAL_MS', 250, 0, MAX_TIMER_MS),
    presenceEventsMaxMembers: integer(env, 'PRESENCE_EVENTS_MAX_MEMBERS', 0, 0),
    adapterMode,
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 100, MAX_TIMER_MS),
  };
}
