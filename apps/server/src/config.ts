import { hostname } from 'node:os';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_CHANNEL_GRANTS_JSON, parseChannelGrants, type ChannelGrants } from './auth/channel-grants.js';
import { trustedProxyProblem } from './client-address.js';
import { parseEndpoints, parseRedisUrl, redisUrlProblem, type RedisTopology } from '@realtime/redis';

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
  /**
   * METRICS_PORT: serve `/metrics` on this port only, apart from the public
   * one (as Centrifugo's internal port), so a load balancer or Ingress in
   * front of PORT can never expose it. Unset: `/metrics` is on PORT (one
   * port for local runs; keep it off the public routes). 0 = a free port.
   */
  metricsPort: number | undefined;
  /**
   * The cluster's Redis, from exactly one of REDIS_URL (standalone),
   * REDIS_SENTINELS + REDIS_SENTINEL_MASTER (Sentinel), or
   * REDIS_CLUSTER_NODES (seed nodes of a Redis Cluster);
   * REDIS_USERNAME / REDIS_PASSWORD / REDIS_TLS for the last two. Only
   * `describeTopology(redis)` may be logged. Unset = a single node in memory.
   */
  redis: RedisTopology | undefined;
  /** REDIS_CONNECT_TIMEOUT_MS: how long start-up waits for an unreachable Redis before giving up. Default 10 000. */
  redisConnectTimeoutMs: number;
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
  /**
   * RATE_LIMIT_CLOSE_AFTER: a connection refused RATE_LIMITED more than this
   * many times in any 10 s is closed with `server-close` RATE_LIMITED (it
   * reconnects with backoff). Default 200; 0 = never closed for it.
   */
  rateLimitCloseAfter: number;
  /**
   * CONNECT_TIMEOUT_MS: an Engine.IO session that has not connected the
   * namespace within this is closed, so half-open sessions cannot pile up.
   * Default 10 000 (Socket.IO's own is 45 000).
   */
  connectTimeoutMs: number;
  /**
   * MAX_BUFFERED_BYTES: a connection whose bytes queued in this process
   * (Engine.IO's write buffer plus the WebSocket's bufferedAmount) pass this
   * is closed with SLOW_CONSUMER within 2 s. Default 1 048 576; 0 = no limit.
   */
  maxBufferedBytes: number;
  /**
   * HANDSHAKE_RATE_PER_IP: at most this many Engine.IO handshakes (requests
   * without a session id) per client address in any 10 s, cluster-wide
   * through Redis (the node's own count while Redis is down); beyond it
   * `429` with `Retry-After`. Default 0 = no limit.
   */
  handshakeRatePerIp: number;
  /**
   * MAX_CONNECTIONS_PER_USER: connections one authenticated user (token
   * `sub`) may hold at once, counted across the cluster in Redis (the node's
   * own count while Redis fails); beyond it the handshake is refused with
   * `connect_error` CONNECTION_LIMIT. Anonymous connections are not counted.
   * Default 0 = no limit.
   */
  maxConnectionsPerUser: number;
  /**
   * TRUSTED_PROXIES: addresses or CIDR ranges of the proxies in front of the
   * nodes, comma-separated; `X-Forwarded-For` gives the client address only
   * when the TCP peer is one of them. Default none: the peer is the client.
   */
  trustedProxies: readonly string[];
  /** HEARTBEAT_INTERVAL_MS: how often the node refreshes its liveness and reaps dead nodes. Default 1 500. */
  heartbeatIntervalMs: number;
  /** NODE_TTL_MS: a node silent this long is dead and reaped. Default 5 000 (≥ 2 × heartbeat). */
  nodeTtlMs: number;
  /**
   * PING_INTERVAL_MS / PING_TIMEOUT_MS: Engine.IO heartbeat. A client that
   * vanishes without closing (a phone losing its network) is detected, and
   * leaves every count, within interval + timeout. Defaults 10 000 + 5 000 =
   * at most 15 s (Socket.IO's own defaults, 25 s + 20 s, keep a ghost 45 s).
   * Shorter costs a ping per client per interval and drops clients on
   * networks slower than the timeout; longer keeps ghosts in counts.
   */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /**
   * HTTP_REQUEST_TIMEOUT_MS: a request (headers and body) must arrive in
   * full within this, or the connection is closed with 408: a client cannot
   * hold a socket by sending half a request. Default 30 000.
   */
  httpRequestTimeoutMs: number;
  /**
   * HTTP_IDLE_TIMEOUT_MS: an HTTP connection (not a WebSocket) with no
   * traffic at all for this long is closed. Must exceed PING_INTERVAL_MS,
   * which is how long a long-polling GET is held. Default 75 000: longer than the 60 s
   * keep-alive of common load balancers, so the LB, not the node, closes idle upstream connections first.
   */
  httpIdleTimeoutMs: number;
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
   * members in). Default `classic`, and `sharded` with REDIS_CLUSTER_NODES,
   * where `classic` is refused: a cluster forwards classic pub/sub to every
   * shard, so every message would load every master.
   */
  adapterMode: 'classic' | 'sharded';
  /** SHUTDOWN_GRACE_MS: how long a drain may take before the process exits anyway. Default 10 000. */
  shutdownGraceMs: number;
  /**
   * RECOVERY_WINDOW_MS: how long a lost connection may come back and be
   * recovered (README, "Recovery after a brief disconnect"), and how long
   * each channel's and room's history of events is kept after its last
   * one. With it set, every event to a topic is stored and published by one
   * Redis script on the topic's slot, and every node delivers it from there.
   * Default 120 000 (Ably keeps a connection recoverable for 2 minutes).
   * `0` keeps no history: the adapter broadcasts as before. At most 24 h.
   */
  recoveryWindowMs: number;
  /** RECOVERY_MAX_MESSAGES_PER_TOPIC: broadcasts kept per channel or room (exactly). Default 1 000. */
  recoveryMaxMessagesPerTopic: number;
  /**
   * PRESENCE_GRACE_MS: how long a connection lost abruptly (or on a drained
   * or crashed node) stays a member, counted and with no `leave-*`, so that
   * a recovery within it shows nothing to anyone. Default 15 000 (Ably's
   * presence grace), or the window when that is shorter; at most the window
   * (a member kept longer than its session could never be recovered). `0`
   * announces every loss at once.
   */
  presenceGraceMs: number;
  /**
   * API_KEYS: `name:secret,name2:secret2`, the keys of the HTTP API under
   * /api/v1 (Authorization: Bearer <secret>). Empty = the API answers 403.
   * Only names may be logged.
   */
  apiKeys: readonly ApiKey[];
  /** API_MAX_BODY_BYTES: largest HTTP API request body. Default 8 MiB (a full batch of maximum-size messages). */
  apiMaxBodyBytes: number;
  /** API_RATE_LIMIT_PER_SECOND: HTTP API calls per second per key, cluster-wide, bursts of twice that. Default 100; 0 = no limit. */
  apiRateLimitPerSecond: number;
  /**
   * DEMO_PAGE: serve the demo page at /demo. Default: on for a single node
   * without Redis outside production (`npm start` on a fresh machine), off
   * otherwise (NODE_ENV=production, or any Redis configured).
   */
  demoPage: boolean;
  /** AUTH_*: connection authentication and channel permissions. */
  auth: AuthConfig;
}

/**
 * How connections authenticate. Secrets (`jwtSecret`) may never be logged;
 * nothing here is logged but `mode` and which key sources are set.
 */
export interface AuthConfig {
  /**
   * AUTH_MODE: `off` (every connection anonymous), `optional` (a token is
   * verified when sent; none = anonymous), `required` (no token = refused).
   * Default `off`.
   */
  mode: 'off' | 'optional' | 'required';
  /** AUTH_JWT_SECRET: the HMAC key of HS256/384/512 tokens (at least 32 characters). */
  jwtSecret: Uint8Array | undefined;
  /**
   * AUTH_JWT_PUBLIC_KEY (inline PEM) or AUTH_JWT_PUBLIC_KEY_FILE (a PEM
   * file, read once at start-up): an RSA, EC (P-256/384/521) or Ed25519 key;
   * its type fixes the algorithms it verifies.
   */
  jwtPublicKey: KeyObject | undefined;
  /** AUTH_JWKS_URL: a JWK set, keys picked by `kid`. */
  jwksUrl: URL | undefined;
  /** AUTH_JWT_ISSUER: required `iss` when set. */
  issuer: string | undefined;
  /** AUTH_JWT_AUDIENCE: required in `aud` when set. */
  audience: string | undefined;
  /** AUTH_NAME_CLAIM: the claim that becomes `source.userName`. Default `name`. */
  nameClaim: string;
  /** AUTH_CHANNELS_CLAIM: the claim holding the token's channel grants. Default `channels`. */
  channelsClaim: string;
  /** AUTH_DEFAULT_CHANNELS: grants for tokens without the claim and anonymous connections. Default `{"*": ["join", "publish"]}`. */
  defaultChannels: ChannelGrants;
  /**
   * AUTH_REFRESH_WARNING_MS: how long before a connection's token expires
   * the server sends `auth-expiring` (never before half the token's
   * lifetime). Default 60 000.
   */
  refreshWarningMs: number;
  /**
   * AUTH_EXPIRY_GRACE_MS: how long after its token's `exp` (or its connect,
   * if later) a connection without a valid refresh is closed AUTH_EXPIRED.
   * Default 10 000.
   */
  expiryGraceMs: number;
  /**
   * AUTH_MAX_TOKEN_LIFETIME_S: the longest a token lives (`exp` − `iat`).
   * A revocation is kept this long after its time, so a longer-lived token
   * could outlive its revocation. Default 86 400 (one day).
   */
  maxTokenLifetimeS: number;
}

/** One HTTP API key: `name` is logged and counted, `secret` never. */
export interface ApiKey {
  name: string;
  secret: string;
}

/** API_KEYS, parsed. A secret is never quoted in a message. */
function parseApiKeys(raw: string | undefined): ApiKey[] {
  if (raw === undefined || raw.trim() === '') return [];
  const keys: ApiKey[] = [];
  for (const [i, entry] of raw.split(',').entries()) {
    const at = entry.indexOf(':');
    const name = at === -1 ? '' : entry.slice(0, at).trim();
    const secret = at === -1 ? '' : entry.slice(at + 1);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      throw new ConfigError(`API_KEYS entry ${i + 1} must be name:secret with a name of 1-64 letters, digits, '.', '_' or '-'`);
    }
    if (secret.length < 16) throw new ConfigError(`API_KEYS: the secret of "${name}" must be at least 16 characters`);
    if (/[\s,]/.test(secret)) throw new ConfigError(`API_KEYS: the secret of "${name}" must not contain spaces or commas`);
    if (keys.some((k) => k.name === name)) throw new ConfigError(`API_KEYS: the name "${name}" is used twice`);
    if (keys.some((k) => k.secret === secret)) throw new ConfigError(`API_KEYS: "${name}" has the same secret as another key`);
    keys.push({ name, secret });
  }
  return keys;
}

/** TRUSTED_PROXIES, each entry an address or a CIDR range. */
function parseTrustedProxies(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const trimmed = entry.trim();
    const problem = trustedProxyProblem(trimmed);
    if (problem !== undefined) throw new ConfigError(`TRUSTED_PROXIES: ${problem}`);
    return trimmed;
  });
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

/** Where Redis is: one of three modes, or none. Every message names the variables to fix and never quotes a secret. */
function parseRedisTopology(env: Env): RedisTopology | undefined {
  const trimmed = (raw: string | undefined): string | undefined => raw?.trim() || undefined;
  const url = trimmed(env.REDIS_URL);
  const clusterNodes = trimmed(env.REDIS_CLUSTER_NODES);
  const sentinels = trimmed(env.REDIS_SENTINELS);
  const masterName = trimmed(env.REDIS_SENTINEL_MASTER);
  const modes = [url && 'REDIS_URL', clusterNodes && 'REDIS_CLUSTER_NODES', sentinels && 'REDIS_SENTINELS'].filter(
    (m): m is string => typeof m === 'string',
  );
  if (modes.length > 1) {
    throw new ConfigError(`set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS (got ${modes.join(' and ')})`);
  }
  const sentinelAuthSet = Object.entries({
    REDIS_SENTINEL_USERNAME: env.REDIS_SENTINEL_USERNAME,
    REDIS_SENTINEL_PASSWORD: env.REDIS_SENTINEL_PASSWORD,
  })
    .filter(([, raw]) => trimmed(raw) !== undefined)
    .map(([name]) => name);
  if (sentinelAuthSet.length > 0 && sentinels === undefined) {
    throw new ConfigError(`${sentinelAuthSet.join(', ')} set without REDIS_SENTINELS: they are the sentinels' own credentials`);
  }
  if (masterName !== undefined && sentinels === undefined) {
    throw new ConfigError('REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS: list the sentinels as host:port,host:port');
  }
  const auth = {
    username: trimmed(env.REDIS_USERNAME),
    // Taken as given (not trimmed): a password may end in a space.
    password: env.REDIS_PASSWORD === undefined || env.REDIS_PASSWORD === '' ? undefined : env.REDIS_PASSWORD,
    tls: boolean(env, 'REDIS_TLS', false),
  };
  const authSet = Object.entries({ REDIS_USERNAME: env.REDIS_USERNAME, REDIS_PASSWORD: env.REDIS_PASSWORD, REDIS_TLS: env.REDIS_TLS })
    .filter(([, raw]) => trimmed(raw) !== undefined)
    .map(([name]) => name);
  if (url !== undefined) {
    if (authSet.length > 0) {
      throw new ConfigError(
        `${authSet.join(', ')} apply to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put them in the URL (rediss://user:password@host:port)`,
      );
    }
    // The message never quotes the URL: it may hold a password.
    const problem = redisUrlProblem(url);
    if (problem !== undefined) throw new ConfigError(problem);
    return { kind: 'standalone', ...parseRedisUrl(url) };
  }
  if (sentinels !== undefined) {
    if (masterName === undefined) {
      throw new ConfigError('REDIS_SENTINELS needs REDIS_SENTINEL_MASTER: the name the sentinels monitor the master under');
    }
    const endpoints = parseEndpoints('REDIS_SENTINELS', sentinels, 26379);
    if (typeof endpoints === 'string') throw new ConfigError(endpoints);
    const sentinelAuth = {
      username: trimmed(env.REDIS_SENTINEL_USERNAME),
      password: env.REDIS_SENTINEL_PASSWORD === undefined || env.REDIS_SENTINEL_PASSWORD === '' ? undefined : env.REDIS_SENTINEL_PASSWORD,
    };
    return { kind: 'sentinel', sentinels: endpoints, masterName, db: 0, ...auth, sentinelAuth };
  }
  if (clusterNodes !== undefined) {
    const endpoints = parseEndpoints('REDIS_CLUSTER_NODES', clusterNodes, 6379);
    if (typeof endpoints === 'string') throw new ConfigError(endpoints);
    return { kind: 'cluster', nodes: endpoints, ...auth };
  }
  if (authSet.length > 0)
    throw new ConfigError(`${authSet.join(', ')} set, but no Redis is: set REDIS_SENTINELS or REDIS_CLUSTER_NODES too`);
  return undefined;
}

const AUTH_MODES = ['off', 'optional', 'required'] as const;

/** A PEM public key, from AUTH_JWT_PUBLIC_KEY or the file AUTH_JWT_PUBLIC_KEY_FILE names. Never quotes the key. */
function parsePublicKey(env: Env): KeyObject | undefined {
  const inline = env.AUTH_JWT_PUBLIC_KEY?.trim() || undefined;
  const file = env.AUTH_JWT_PUBLIC_KEY_FILE?.trim() || undefined;
  if (inline !== undefined && file !== undefined) throw new ConfigError('set only one of AUTH_JWT_PUBLIC_KEY and AUTH_JWT_PUBLIC_KEY_FILE');
  let pem = inline;
  const name = file === undefined ? 'AUTH_JWT_PUBLIC_KEY' : 'AUTH_JWT_PUBLIC_KEY_FILE';
  if (file !== undefined) {
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`AUTH_JWT_PUBLIC_KEY_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (pem === undefined) return undefined;
  let key: KeyObject;
  try {
    // Newlines written as \n (one-line environment values) are accepted.
    key = createPublicKey({ key: pem.replace(/\\n/g, '\n'), format: 'pem' });
  } catch {
    throw new ConfigError(`${name} must be a PEM public key (-----BEGIN PUBLIC KEY-----)`);
  }
  if (!['rsa', 'rsa-pss', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) {
    throw new ConfigError(`${name}: ${key.asymmetricKeyType ?? 'this'} keys are not supported (RSA, EC or Ed25519)`);
  }
  return key;
}

function parseAuth(env: Env): AuthConfig {
  const mode = (env.AUTH_MODE?.trim().toLowerCase() || 'off') as AuthConfig['mode'];
  if (!AUTH_MODES.includes(mode)) throw new ConfigError(`AUTH_MODE must be one of ${AUTH_MODES.join(', ')}, got "${env.AUTH_MODE}"`);
  // Taken as given (not trimmed), like a password; never quoted.
  const secret = env.AUTH_JWT_SECRET === undefined || env.AUTH_JWT_SECRET === '' ? undefined : env.AUTH_JWT_SECRET;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('AUTH_JWT_SECRET must be at least 32 bytes (RFC 7518: an HMAC key as long as the hash)');
  }
  const jwtPublicKey = parsePublicKey(env);
  let jwksUrl: URL | undefined;
  const rawJwks = env.AUTH_JWKS_URL?.trim() || undefined;
  if (rawJwks !== undefined) {
    try {
      jwksUrl = new URL(rawJwks);
    } catch {
      throw new ConfigError('AUTH_JWKS_URL must be an http(s) URL');
    }
    if (jwksUrl.protocol !== 'https:' && jwksUrl.protocol !== 'http:') throw new ConfigError('AUTH_JWKS_URL must be an http(s) URL');
  }
  if (mode !== 'off' && secret === undefined && jwtPublicKey === undefined && jwksUrl === undefined) {
    throw new ConfigError(
      `AUTH_MODE=${mode} needs a key source: AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_URL`,
    );
  }
  const rawDefault = env.AUTH_DEFAULT_CHANNELS?.trim() || DEFAULT_CHANNEL_GRANTS_JSON;
  let parsedDefault: unknown;
  try {
    parsedDefault = JSON.parse(rawDefault);
  } catch {
    throw new ConfigError('AUTH_DEFAULT_CHANNELS must be JSON, e.g. {"*": ["join", "publish"]}');
  }
  const defaultChannels = parseChannelGrants(parsedDefault);
  if (typeof defaultChannels === 'string') throw new ConfigError(`AUTH_DEFAULT_CHANNELS ${defaultChannels}`);
  return {
    mode,
    jwtSecret: secret === undefined ? undefined : new TextEncoder().encode(secret),
    jwtPublicKey,
    jwksUrl,
    issuer: env.AUTH_JWT_ISSUER?.trim() || undefined,
    audience: env.AUTH_JWT_AUDIENCE?.trim() || undefined,
    nameClaim: env.AUTH_NAME_CLAIM?.trim() || 'name',
    channelsClaim: env.AUTH_CHANNELS_CLAIM?.trim() || 'channels',
    defaultChannels,
    refreshWarningMs: integer(env, 'AUTH_REFRESH_WARNING_MS', 60_000, 0, MAX_TIMER_MS),
    expiryGraceMs: integer(env, 'AUTH_EXPIRY_GRACE_MS', 10_000, 0, MAX_TIMER_MS),
    maxTokenLifetimeS: integer(env, 'AUTH_MAX_TOKEN_LIFETIME_S', 86_400, 60, 366 * 86_400),
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const redis = parseRedisTopology(env);
  const adapterMode = (env.ADAPTER_MODE?.trim() || (redis?.kind === 'cluster' ? 'sharded' : 'classic')) as Config['adapterMode'];
  if (adapterMode !== 'classic' && adapterMode !== 'sharded') {
    throw new ConfigError(`ADAPTER_MODE must be classic or sharded, got "${env.ADAPTER_MODE}"`);
  }
  if (adapterMode === 'classic' && redis?.kind === 'cluster') {
    throw new ConfigError(
      'ADAPTER_MODE=classic with REDIS_CLUSTER_NODES: a Redis Cluster forwards classic pub/sub to every shard; unset ADAPTER_MODE (sharded is the default in cluster mode)',
    );
  }
  const maxHttpBufferSizeBytes = integer(env, 'MAX_HTTP_BUFFER_SIZE_BYTES', 1_000_000, 1024);
  const maxMessageBytes = integer(env, 'MAX_MESSAGE_BYTES', 64 * 1024, 0);
  if (maxMessageBytes > maxHttpBufferSizeBytes) {
    throw new ConfigError(
      `MAX_MESSAGE_BYTES (${maxMessageBytes}) must not exceed MAX_HTTP_BUFFER_SIZE_BYTES (${maxHttpBufferSizeBytes}): ` +
        'a message that large could never arrive in one frame',
    );
  }
  // At most 10 minutes each: beyond that a vanished client is never noticed in practice.
  const pingIntervalMs = integer(env, 'PING_INTERVAL_MS', 10_000, 100, 600_000);
  const pingTimeoutMs = integer(env, 'PING_TIMEOUT_MS', 5_000, 100, 600_000);
  const httpIdleTimeoutMs = integer(env, 'HTTP_IDLE_TIMEOUT_MS', 75_000, 1000, MAX_TIMER_MS);
  if (httpIdleTimeoutMs <= pingIntervalMs) {
    throw new ConfigError(
      `HTTP_IDLE_TIMEOUT_MS (${httpIdleTimeoutMs}) must exceed PING_INTERVAL_MS (${pingIntervalMs}): ` +
        'a long-polling request is held that long without traffic',
    );
  }
  const heartbeatIntervalMs = integer(env, 'HEARTBEAT_INTERVAL_MS', 1500, 50, Math.floor(MAX_TIMER_MS / 2));
  const nodeTtlMs = integer(env, 'NODE_TTL_MS', 5000, 100, MAX_TIMER_MS);
  const recoveryWindowMs = integer(env, 'RECOVERY_WINDOW_MS', 120_000, 0, 24 * 60 * 60 * 1000);
  const presenceGraceMs = integer(env, 'PRESENCE_GRACE_MS', Math.min(15_000, recoveryWindowMs), 0, 24 * 60 * 60 * 1000);
  if (presenceGraceMs > recoveryWindowMs) {
    throw new ConfigError(
      `PRESENCE_GRACE_MS (${presenceGraceMs}) may not exceed RECOVERY_WINDOW_MS (${recoveryWindowMs}): a member kept longer than its session could never be recovered`,
    );
  }
  if (nodeTtlMs < 2 * heartbeatIntervalMs) {
    throw new ConfigError(
      `NODE_TTL_MS (${nodeTtlMs}) must be at least twice HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs}), or live nodes get reaped`,
    );
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    metricsPort: env.METRICS_PORT?.trim() ? integer(env, 'METRICS_PORT', 0, 0, 65535) : undefined,
    redis,
    redisConnectTimeoutMs: integer(env, 'REDIS_CONNECT_TIMEOUT_MS', 10_000, 100, MAX_TIMER_MS),
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'rt:',
    nodeId: env.NODE_ID?.trim() || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    logLevel,
    logPretty: boolean(env, 'LOG_PRETTY', false),
    maxHttpBufferSizeBytes,
    maxMessageBytes,
    maxSubscriptionsPerConnection: integer(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1),
    rateLimitEventsPerSecond: integer(env, 'RATE_LIMIT_EVENTS_PER_SECOND', 200, 0),
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', 400, 1),
    rateLimitCloseAfter: integer(env, 'RATE_LIMIT_CLOSE_AFTER', 200, 0, 1_000_000),
    connectTimeoutMs: integer(env, 'CONNECT_TIMEOUT_MS', 10_000, 100, MAX_TIMER_MS),
    maxBufferedBytes: integer(env, 'MAX_BUFFERED_BYTES', 1024 * 1024, 0),
    handshakeRatePerIp: integer(env, 'HANDSHAKE_RATE_PER_IP', 0, 0, 1_000_000),
    maxConnectionsPerUser: integer(env, 'MAX_CONNECTIONS_PER_USER', 0, 0, 1_000_000),
    trustedProxies: parseTrustedProxies(env.TRUSTED_PROXIES),
    heartbeatIntervalMs,
    nodeTtlMs,
    pingIntervalMs,
    pingTimeoutMs,
    httpRequestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, MAX_TIMER_MS),
    httpIdleTimeoutMs,
    presenceAnnounceIntervalMs: integer(env, 'PRESENCE_ANNOUNCE_INTERVAL_MS', 250, 0, MAX_TIMER_MS),
    presenceEventsMaxMembers: integer(env, 'PRESENCE_EVENTS_MAX_MEMBERS', 0, 0),
    adapterMode,
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 100, MAX_TIMER_MS),
    recoveryWindowMs,
    presenceGraceMs,
    recoveryMaxMessagesPerTopic: integer(env, 'RECOVERY_MAX_MESSAGES_PER_TOPIC', 1000, 1, 100_000),
    apiKeys: parseApiKeys(env.API_KEYS),
    apiMaxBodyBytes: integer(env, 'API_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    apiRateLimitPerSecond: integer(env, 'API_RATE_LIMIT_PER_SECOND', 100, 0, 1_000_000),
    demoPage: boolean(env, 'DEMO_PAGE', redis === undefined && env.NODE_ENV?.trim() !== 'production'),
    auth: parseAuth(env),
  };
}
