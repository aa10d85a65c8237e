/**
 * The environment variables this server reads, and a check for the ones it
 * would silently ignore: a variable under one of our prefixes that is not a
 * setting is almost always a typo (`REDIS_ULR`), and a node started with a
 * typo'd REDIS_URL runs alone in memory while its fleet splits.
 */

/** Every setting `loadConfig` reads (README, "Configuration"). */
export const KNOWN_SETTINGS = [
  'PORT',
  // Node's own convention, read only for a default (DEMO_PAGE off in production).
  'NODE_ENV',
  'API_KEYS',
  'API_MAX_BODY_BYTES',
  'API_RATE_LIMIT_PER_SECOND',
  'DEMO_PAGE',
  'HOST',
  'METRICS_PORT',
  'REDIS_URL',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
  'REDIS_SENTINEL_USERNAME',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_CLUSTER_NODES',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_TLS',
  'REDIS_KEY_PREFIX',
  'REDIS_CONNECT_TIMEOUT_MS',
  'NODE_ID',
  'CORS_ORIGINS',
  'LOG_LEVEL',
  'LOG_PRETTY',
  'MAX_HTTP_BUFFER_SIZE_BYTES',
  'MAX_MESSAGE_BYTES',
  'MAX_SUBSCRIPTIONS_PER_CONNECTION',
  'RATE_LIMIT_EVENTS_PER_SECOND',
  'RATE_LIMIT_BURST',
  'RATE_LIMIT_CLOSE_AFTER',
  'CONNECT_TIMEOUT_MS',
  'MAX_BUFFERED_BYTES',
  'HANDSHAKE_RATE_PER_IP',
  'MAX_CONNECTIONS_PER_USER',
  'TRUSTED_PROXIES',
  'HEARTBEAT_INTERVAL_MS',
  'NODE_TTL_MS',
  'PING_INTERVAL_MS',
  'PING_TIMEOUT_MS',
  'HTTP_REQUEST_TIMEOUT_MS',
  'HTTP_IDLE_TIMEOUT_MS',
  'PRESENCE_ANNOUNCE_INTERVAL_MS',
  'PRESENCE_EVENTS_MAX_MEMBERS',
  'RECOVERY_WINDOW_MS',
  'RECOVERY_MAX_MESSAGES_PER_TOPIC',
  'PRESENCE_GRACE_MS',
  'ADAPTER_MODE',
  'SHUTDOWN_GRACE_MS',
  'AUTH_MODE',
  'AUTH_JWT_SECRET',
  'AUTH_JWT_PUBLIC_KEY',
  'AUTH_JWT_PUBLIC_KEY_FILE',
  'AUTH_JWKS_URL',
  'AUTH_JWT_ISSUER',
  'AUTH_JWT_AUDIENCE',
  'AUTH_NAME_CLAIM',
  'AUTH_CHANNELS_CLAIM',
  'AUTH_DEFAULT_CHANNELS',
  'AUTH_REFRESH_WARNING_MS',
  'AUTH_EXPIRY_GRACE_MS',
  'AUTH_MAX_TOKEN_LIFETIME_S',
] as const;

/** Prefixes that are ours: anything under them is expected to be a known setting. */
export const SETTING_PREFIXES = [
  'REDIS_',
  'CORS_',
  'MAX_',
  'RATE_LIMIT_',
  'PRESENCE_',
  'RECOVERY_',
  'HEARTBEAT_',
  'NODE_TTL',
  'NODE_ID',
  'SHUTDOWN_',
  'ADAPTER_',
  'LOG_',
  'PING_',
  'HTTP_',
  'METRICS_',
  'API_',
  'DEMO_',
  'AUTH_',
  'CONNECT_',
  'HANDSHAKE_',
  'TRUSTED_',
] as const;

/** Well-known variables of other programs that happen to share a prefix with ours. */
const FOREIGN = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'HTTP_PROXY_USER', 'HTTP_PROXY_PASSWORD']);

/**
 * Kubernetes injects `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT=tcp://…` and
 * `<SERVICE>_PORT_<n>_TCP…` for every Service in the namespace (a Service
 * named `redis` yields REDIS_PORT, REDIS_SERVICE_HOST, …): not typos.
 */
function isServiceLink(name: string, value: string | undefined): boolean {
  if (/_SERVICE_(HOST|PORT(_[A-Z0-9_]+)?)$/.test(name)) return true;
  if (/_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/.test(name)) return true;
  return /_PORT$/.test(name) && /^(tcp|udp|sctp):\/\//.test(value ?? '');
}

export interface UnknownSetting {
  name: string;
  /** The closest known setting, when one is close enough to be a likely typo. */
  suggestion: string | undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The variables under our prefixes that no setting reads, each with its likely intended name. */
export function findUnknownSettings(env: Readonly<Record<string, string | undefined>>): UnknownSetting[] {
  const known: readonly string[] = KNOWN_SETTINGS;
  const unknown: UnknownSetting[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.includes(name) || FOREIGN.has(name) || isServiceLink(name, env[name])) continue;
    if (!SETTING_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    let best: { name: string; distance: number } | undefined;
    for (const candidate of known) {
      const distance = editDistance(name, candidate);
      if (best === undefined || distance < best.distance) best = { name: candidate, distance };
    }
    const closeEnough = best !== undefined && best.distance <= Math.max(2, Math.floor(name.length / 3));
    unknown.push({ name, suggestion: closeEnough ? best?.name : undefined });
  }
  return unknown;
}
