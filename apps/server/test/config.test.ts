import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RedisTopology } from '@realtime/redis';
import { ConfigError, loadConfig, type AuthConfig, type Config } from '../src/config.js';
import { allows, parseChannelGrants, type ChannelGrants } from '../src/auth/channel-grants.js';

/** The auth settings when no AUTH_* variable is set. */
const AUTH_OFF: AuthConfig = {
  mode: 'off',
  jwtSecret: undefined,
  jwtPublicKey: undefined,
  jwksUrl: undefined,
  issuer: undefined,
  audience: undefined,
  nameClaim: 'name',
  channelsClaim: 'channels',
  defaultChannels: parseChannelGrants({ '*': ['join', 'publish'] }) as ChannelGrants,
  refreshWarningMs: 60_000,
  expiryGraceMs: 10_000,
  maxTokenLifetimeS: 86_400,
};

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it throws none, or something else). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** Every integer variable with its field, default and accepted range. */
const INTEGERS: readonly { name: string; field: keyof Config; fallback: number; min: number; max?: number }[] = [
  { name: 'PORT', field: 'port', fallback: 3000, min: 0, max: 65535 },
  { name: 'MAX_HTTP_BUFFER_SIZE_BYTES', field: 'maxHttpBufferSizeBytes', fallback: 1_000_000, min: 1024 },
  { name: 'MAX_MESSAGE_BYTES', field: 'maxMessageBytes', fallback: 65_536, min: 0 },
  { name: 'MAX_SUBSCRIPTIONS_PER_CONNECTION', field: 'maxSubscriptionsPerConnection', fallback: 100, min: 1 },
  { name: 'RATE_LIMIT_EVENTS_PER_SECOND', field: 'rateLimitEventsPerSecond', fallback: 200, min: 0 },
  { name: 'RATE_LIMIT_BURST', field: 'rateLimitBurst', fallback: 400, min: 1 },
  { name: 'RATE_LIMIT_CLOSE_AFTER', field: 'rateLimitCloseAfter', fallback: 200, min: 0, max: 1_000_000 },
  { name: 'CONNECT_TIMEOUT_MS', field: 'connectTimeoutMs', fallback: 10_000, min: 100, max: 2_147_483_647 },
  { name: 'MAX_BUFFERED_BYTES', field: 'maxBufferedBytes', fallback: 1_048_576, min: 0 },
  { name: 'HANDSHAKE_RATE_PER_IP', field: 'handshakeRatePerIp', fallback: 0, min: 0, max: 1_000_000 },
  { name: 'MAX_CONNECTIONS_PER_USER', field: 'maxConnectionsPerUser', fallback: 0, min: 0, max: 1_000_000 },
  { name: 'HEARTBEAT_INTERVAL_MS', field: 'heartbeatIntervalMs', fallback: 1500, min: 50, max: 1_073_741_823 },
  { name: 'NODE_TTL_MS', field: 'nodeTtlMs', fallback: 5000, min: 100, max: 2_147_483_647 },
  { name: 'PRESENCE_ANNOUNCE_INTERVAL_MS', field: 'presenceAnnounceIntervalMs', fallback: 250, min: 0, max: 2_147_483_647 },
  { name: 'PRESENCE_EVENTS_MAX_MEMBERS', field: 'presenceEventsMaxMembers', fallback: 0, min: 0 },
  { name: 'SHUTDOWN_GRACE_MS', field: 'shutdownGraceMs', fallback: 10_000, min: 100, max: 2_147_483_647 },
  { name: 'RECOVERY_WINDOW_MS', field: 'recoveryWindowMs', fallback: 120_000, min: 0, max: 86_400_000 },
  { name: 'RECOVERY_MAX_MESSAGES_PER_TOPIC', field: 'recoveryMaxMessagesPerTopic', fallback: 1000, min: 1, max: 100_000 },
  { name: 'PRESENCE_GRACE_MS', field: 'presenceGraceMs', fallback: 15_000, min: 0, max: 86_400_000 },
  { name: 'REDIS_CONNECT_TIMEOUT_MS', field: 'redisConnectTimeoutMs', fallback: 10_000, min: 100, max: 2_147_483_647 },
  { name: 'PING_INTERVAL_MS', field: 'pingIntervalMs', fallback: 10_000, min: 100, max: 600_000 },
  { name: 'PING_TIMEOUT_MS', field: 'pingTimeoutMs', fallback: 5_000, min: 100, max: 600_000 },
  { name: 'HTTP_REQUEST_TIMEOUT_MS', field: 'httpRequestTimeoutMs', fallback: 30_000, min: 100, max: 2_147_483_647 },
  { name: 'HTTP_IDLE_TIMEOUT_MS', field: 'httpIdleTimeoutMs', fallback: 75_000, min: 1000, max: 2_147_483_647 },
];

/**
 * Heartbeat and TTL are checked together (TTL ≥ 2 × heartbeat): when testing
 * one of them, give the other a value that keeps that rule satisfied.
 */
function companions(name: string, value: number): Record<string, string> {
  if (name === 'HEARTBEAT_INTERVAL_MS') return { NODE_TTL_MS: String(Math.max(100, 2 * value)) };
  if (name === 'NODE_TTL_MS') return { HEARTBEAT_INTERVAL_MS: '50' };
  // MAX_MESSAGE_BYTES ≤ MAX_HTTP_BUFFER_SIZE_BYTES, and HTTP_IDLE_TIMEOUT_MS > PING_INTERVAL_MS.
  if (name === 'MAX_HTTP_BUFFER_SIZE_BYTES') return { MAX_MESSAGE_BYTES: '0' };
  if (name === 'MAX_MESSAGE_BYTES') return { MAX_HTTP_BUFFER_SIZE_BYTES: String(Math.max(1024, value)) };
  if (name === 'PING_INTERVAL_MS') return { HTTP_IDLE_TIMEOUT_MS: String(Math.max(1000, value + 1)) };
  if (name === 'HTTP_IDLE_TIMEOUT_MS') return { PING_INTERVAL_MS: '100' };
  // PRESENCE_GRACE_MS ≤ RECOVERY_WINDOW_MS.
  if (name === 'PRESENCE_GRACE_MS') return { RECOVERY_WINDOW_MS: String(Math.max(120_000, value)) };
  return {};
}

/** The standalone topology loadConfig makes of `env` (fails the test for any other). */
function standalone(env: Record<string, string>): Extract<RedisTopology, { kind: 'standalone' }> {
  const redis = loadConfig(env).redis;
  if (redis?.kind !== 'standalone') throw new Error(`not a standalone topology: ${JSON.stringify(redis)}`);
  return redis;
}

describe('loadConfig', () => {
  it('has the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 3000,
      host: '0.0.0.0',
      metricsPort: undefined,
      redis: undefined,
      redisConnectTimeoutMs: 10_000,
      redisKeyPrefix: 'rt:',
      nodeId: expect.any(String),
      corsOrigins: [],
      logLevel: 'info',
      logPretty: false,
      maxHttpBufferSizeBytes: 1_000_000,
      maxMessageBytes: 65_536,
      maxSubscriptionsPerConnection: 100,
      rateLimitEventsPerSecond: 200,
      rateLimitBurst: 400,
      rateLimitCloseAfter: 200,
      connectTimeoutMs: 10_000,
      maxBufferedBytes: 1_048_576,
      handshakeRatePerIp: 0,
      maxConnectionsPerUser: 0,
      trustedProxies: [],
      heartbeatIntervalMs: 1500,
      nodeTtlMs: 5000,
      pingIntervalMs: 10_000,
      pingTimeoutMs: 5_000,
      httpRequestTimeoutMs: 30_000,
      httpIdleTimeoutMs: 75_000,
      presenceAnnounceIntervalMs: 250,
      presenceEventsMaxMembers: 0,
      adapterMode: 'classic',
      shutdownGraceMs: 10_000,
      recoveryWindowMs: 120_000,
      recoveryMaxMessagesPerTopic: 1000,
      presenceGraceMs: 15_000,
      apiKeys: [],
      apiMaxBodyBytes: 8 * 1024 * 1024,
      apiRateLimitPerSecond: 100,
      demoPage: true,
      auth: AUTH_OFF,
    } satisfies Config);
  });

  it('treats blank values of integer, HOST, REDIS_URL, NODE_ID and CORS_ORIGINS variables as unset', () => {
    const blank = Object.fromEntries(INTEGERS.map(({ name }) => [name, '  ']));
    const config = loadConfig({ ...blank, HOST: ' ', REDIS_URL: ' ', NODE_ID: ' ', CORS_ORIGINS: ' ' });
    const defaults = loadConfig({});
    for (const { field } of INTEGERS) expect(config[field]).toBe(defaults[field]);
    expect(config.host).toBe('0.0.0.0');
    expect(config.redis).toBeUndefined();
    expect(config.nodeId).not.toBe('');
    expect(config.corsOrigins).toEqual([]);
  });

  it('reads every variable it is given', () => {
    const config = loadConfig({
      PORT: '4000',
      HOST: '127.0.0.1',
      METRICS_PORT: '9464',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CONNECT_TIMEOUT_MS: '2500',
      REDIS_KEY_PREFIX: 'app1:',
      NODE_ID: 'node-a',
      CORS_ORIGINS: 'https://app.example.com',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'true',
      MAX_HTTP_BUFFER_SIZE_BYTES: '2048',
      MAX_MESSAGE_BYTES: '1024',
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '5',
      RATE_LIMIT_EVENTS_PER_SECOND: '0',
      RATE_LIMIT_BURST: '10',
      RATE_LIMIT_CLOSE_AFTER: '7',
      CONNECT_TIMEOUT_MS: '1500',
      MAX_BUFFERED_BYTES: '0',
      HANDSHAKE_RATE_PER_IP: '20',
      TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1,fd00::/8',
      HEARTBEAT_INTERVAL_MS: '1000',
      NODE_TTL_MS: '2000',
      PING_INTERVAL_MS: '4000',
      PING_TIMEOUT_MS: '3000',
      HTTP_REQUEST_TIMEOUT_MS: '7000',
      HTTP_IDLE_TIMEOUT_MS: '9000',
      PRESENCE_ANNOUNCE_INTERVAL_MS: '0',
      PRESENCE_EVENTS_MAX_MEMBERS: '500',
      ADAPTER_MODE: 'sharded',
      SHUTDOWN_GRACE_MS: '3000',
      RECOVERY_WINDOW_MS: '60000',
      RECOVERY_MAX_MESSAGES_PER_TOPIC: '50',
      PRESENCE_GRACE_MS: '5000',
      API_KEYS: 'backend:0123456789abcdef0123,ops:fedcba9876543210fedc',
      API_MAX_BODY_BYTES: '65536',
      API_RATE_LIMIT_PER_SECOND: '5',
    });
    expect(config).toEqual({
      port: 4000,
      host: '127.0.0.1',
      metricsPort: 9464,
      redis: {
        kind: 'standalone',
        url: 'redis://127.0.0.1:6379',
        redacted: 'redis://127.0.0.1:6379',
        tls: false,
        host: '127.0.0.1',
        port: 6379,
        db: 0,
      },
      redisConnectTimeoutMs: 2500,
      redisKeyPrefix: 'app1:',
      nodeId: 'node-a',
      corsOrigins: ['https://app.example.com'],
      logLevel: 'debug',
      logPretty: true,
      maxHttpBufferSizeBytes: 2048,
      maxMessageBytes: 1024,
      maxSubscriptionsPerConnection: 5,
      rateLimitEventsPerSecond: 0,
      rateLimitBurst: 10,
      rateLimitCloseAfter: 7,
      connectTimeoutMs: 1500,
      maxBufferedBytes: 0,
      handshakeRatePerIp: 20,
      maxConnectionsPerUser: 0,
      trustedProxies: ['10.0.0.0/8', '192.168.1.1', 'fd00::/8'],
      heartbeatIntervalMs: 1000,
      nodeTtlMs: 2000,
      pingIntervalMs: 4000,
      pingTimeoutMs: 3000,
      httpRequestTimeoutMs: 7000,
      httpIdleTimeoutMs: 9000,
      presenceAnnounceIntervalMs: 0,
      presenceEventsMaxMembers: 500,
      adapterMode: 'sharded',
      shutdownGraceMs: 3000,
      recoveryWindowMs: 60_000,
      recoveryMaxMessagesPerTopic: 50,
      presenceGraceMs: 5000,
      apiKeys: [
        { name: 'backend', secret: '0123456789abcdef0123' },
        { name: 'ops', secret: 'fedcba9876543210fedc' },
      ],
      apiMaxBodyBytes: 65536,
      apiRateLimitPerSecond: 5,
      demoPage: false,
      auth: AUTH_OFF,
    } satisfies Config);
  });

  describe.each(INTEGERS)('$name', ({ name, field, fallback, min, max }) => {
    it(`defaults to ${fallback}`, () => {
      expect(loadConfig({ ...companions(name, fallback) })[field]).toBe(fallback);
    });

    it(`accepts its bounds (${min}${max === undefined ? '' : `..${max}`})`, () => {
      expect(loadConfig({ [name]: String(min), ...companions(name, min) })[field]).toBe(min);
      if (max !== undefined) expect(loadConfig({ [name]: String(max), ...companions(name, max) })[field]).toBe(max);
    });

    it.each(['abc', '12.5', '10ms', 'NaN', 'Infinity', 'true', '0x10', '1e3', '0b11', '-0'])(
      'refuses the non-integer %j, naming the variable',
      (raw) => {
        const err = configError({ [name]: raw, ...companions(name, fallback) });
        expect(err.message).toContain(name);
        expect(err.message).toContain(`"${raw}"`);
      },
    );

    it('refuses a value below its minimum, naming the variable', () => {
      const err = configError({ [name]: String(min - 1), ...companions(name, fallback) });
      expect(err.message).toContain(name);
      expect(err.message).toContain(`between ${min} and`);
    });

    it('refuses a value above its maximum, naming the variable', () => {
      const tooBig = max === undefined ? '9007199254740993' : String(max + 1);
      const err = configError({ [name]: tooBig, ...companions(name, fallback) });
      expect(err.message).toContain(name);
    });
  });

  it('refuses MAX_MESSAGE_BYTES above MAX_HTTP_BUFFER_SIZE_BYTES, naming both', () => {
    const err = configError({ MAX_HTTP_BUFFER_SIZE_BYTES: '2048', MAX_MESSAGE_BYTES: '2049' });
    expect(err.message).toContain('MAX_MESSAGE_BYTES (2049)');
    expect(err.message).toContain('MAX_HTTP_BUFFER_SIZE_BYTES (2048)');
    expect(loadConfig({ MAX_HTTP_BUFFER_SIZE_BYTES: '2048', MAX_MESSAGE_BYTES: '2048' }).maxMessageBytes).toBe(2048);
  });

  it('refuses HTTP_IDLE_TIMEOUT_MS not above PING_INTERVAL_MS (a long poll is held that long), naming both', () => {
    const err = configError({ PING_INTERVAL_MS: '5000', HTTP_IDLE_TIMEOUT_MS: '5000' });
    expect(err.message).toContain('HTTP_IDLE_TIMEOUT_MS (5000)');
    expect(err.message).toContain('PING_INTERVAL_MS (5000)');
  });

  it('METRICS_PORT: unset serves /metrics on PORT; a port (0 = free) gives it its own listener', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: ' ' }).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '0' }).metricsPort).toBe(0);
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(configError({ METRICS_PORT: '65536' }).message).toContain('METRICS_PORT');
  });

  it('keeps PRESENCE_GRACE_MS within RECOVERY_WINDOW_MS: refused above it, defaulting to the window when that is shorter', () => {
    const err = configError({ RECOVERY_WINDOW_MS: '10000', PRESENCE_GRACE_MS: '10001' });
    expect(err.message).toContain('PRESENCE_GRACE_MS (10001)');
    expect(err.message).toContain('RECOVERY_WINDOW_MS (10000)');
    expect(loadConfig({ RECOVERY_WINDOW_MS: '10000', PRESENCE_GRACE_MS: '10000' }).presenceGraceMs).toBe(10_000);
    expect(loadConfig({ RECOVERY_WINDOW_MS: '4000' }).presenceGraceMs).toBe(4000);
    // Recovery off: every loss is announced at once.
    expect(loadConfig({ RECOVERY_WINDOW_MS: '0' }).presenceGraceMs).toBe(0);
  });

  it('refuses NODE_TTL_MS below twice HEARTBEAT_INTERVAL_MS, naming both', () => {
    const err = configError({ HEARTBEAT_INTERVAL_MS: '1000', NODE_TTL_MS: '1999' });
    expect(err.message).toContain('NODE_TTL_MS');
    expect(err.message).toContain('HEARTBEAT_INTERVAL_MS');
    expect(loadConfig({ HEARTBEAT_INTERVAL_MS: '1000', NODE_TTL_MS: '2000' }).nodeTtlMs).toBe(2000);
    // The default TTL (5000) against a slower heartbeat.
    expect(configError({ HEARTBEAT_INTERVAL_MS: '3000' }).message).toContain('NODE_TTL_MS (5000)');
    // The default heartbeat (1500) against a shorter TTL.
    expect(configError({ NODE_TTL_MS: '2999' }).message).toContain('HEARTBEAT_INTERVAL_MS (1500)');
  });

  describe('CORS_ORIGINS', () => {
    it('unset or empty means no cross-origin access: an empty list', () => {
      expect(loadConfig({}).corsOrigins).toEqual([]);
      expect(loadConfig({ CORS_ORIGINS: '' }).corsOrigins).toEqual([]);
    });

    it("'*' allows any origin", () => {
      expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
      expect(loadConfig({ CORS_ORIGINS: ' * ' }).corsOrigins).toBe('*');
    });

    it('parses a comma-separated list of exact origins, trimming spaces', () => {
      expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173 ,http://127.0.0.1:8080' }).corsOrigins).toEqual([
        'https://app.example.com',
        'http://localhost:5173',
        'http://127.0.0.1:8080',
      ]);
    });

    it('refuses an entry with a path, suggesting the origin', () => {
      const err = configError({ CORS_ORIGINS: 'https://ok.example.com,https://a.com/x' });
      expect(err.message).toContain('CORS_ORIGINS');
      expect(err.message).toContain('"https://a.com/x"');
      expect(err.message).toContain('"https://a.com"');
    });

    it.each(['https://a.com/', 'https://a.com:443', 'HTTPS://A.COM', 'https://a.com?x=1'])(
      'refuses the non-canonical origin %j',
      (entry) => {
        const err = configError({ CORS_ORIGINS: entry });
        expect(err.message).toContain('CORS_ORIGINS');
        expect(err.message).toContain('exact origin');
      },
    );

    it.each(['garbage', 'app.example.com', '*,https://a.com', 'https://a.com,', 'https://a.com;https://b.com'])('refuses %j', (raw) => {
      expect(configError({ CORS_ORIGINS: raw }).message).toContain('CORS_ORIGINS');
    });
  });

  describe('REDIS_URL', () => {
    it.each(['redis://127.0.0.1:6379', 'rediss://user:pass@redis.example.com:6380/2', 'redis://h:1/'])('accepts %j', (url) => {
      expect(standalone({ REDIS_URL: url }).url).toBe(url);
    });

    it('parses host, port, database and TLS, and keeps a redacted form for logs', () => {
      expect(loadConfig({ REDIS_URL: 'rediss://user:s3cret@redis.example.com:6380/2' }).redis).toEqual({
        kind: 'standalone',
        url: 'rediss://user:s3cret@redis.example.com:6380/2',
        redacted: 'rediss://user:***@redis.example.com:6380/2',
        tls: true,
        host: 'redis.example.com',
        port: 6380,
        db: 2,
      });
      expect(standalone({ REDIS_URL: 'redis://:s3cret@h' }).redacted).toBe('redis://:***@h');
      expect(standalone({ REDIS_URL: 'redis://s3cret@h:1' }).redacted).toBe('redis://***@h:1');
    });

    it('trims it, and unset or blank means a single in-memory node', () => {
      expect(standalone({ REDIS_URL: ' redis://h:1 ' }).url).toBe('redis://h:1');
      expect(loadConfig({}).redis).toBeUndefined();
      expect(loadConfig({ REDIS_URL: '' }).redis).toBeUndefined();
    });

    it.each(['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis:127.0.0.1', 'localhost'])('refuses %j, naming the variable', (url) => {
      const err = configError({ REDIS_URL: url });
      expect(err.message).toContain('REDIS_URL');
      expect(err.message).toContain('redis://');
    });

    it.each(['redis://127.0.0.1:6379/abc', 'redis://127.0.0.1:6379/0/1', 'redis://h:1?db=2', 'redis://:hunter2@h:1/x'])(
      'refuses %j (a path that is not a database number, a query), without quoting a password',
      (url) => {
        const err = configError({ REDIS_URL: url });
        expect(err.message).toContain('REDIS_URL');
        expect(err.message).not.toContain('hunter2');
      },
    );

    it('refuses a malformed URL without echoing it (it may hold a password)', () => {
      const err = configError({ REDIS_URL: 'redis://:hunter2@[bad' });
      expect(err.message).toContain('REDIS_URL must be a URL');
      expect(err.message).not.toContain('hunter2');
    });
  });

  describe('LOG_PRETTY', () => {
    it.each([
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ] as const)('reads %j as %s', (raw, value) => {
      expect(loadConfig({ LOG_PRETTY: raw }).logPretty).toBe(value);
    });

    it('refuses anything else, naming the variable', () => {
      expect(configError({ LOG_PRETTY: 'yes' }).message).toContain('LOG_PRETTY must be true or false');
    });
  });

  describe('ADAPTER_MODE', () => {
    it.each(['classic', 'sharded'] as const)('accepts %j', (mode) => {
      expect(loadConfig({ ADAPTER_MODE: mode }).adapterMode).toBe(mode);
    });

    it('refuses anything else, naming the variable', () => {
      expect(configError({ ADAPTER_MODE: 'cluster' }).message).toContain('ADAPTER_MODE must be classic or sharded');
    });
  });

  describe('LOG_LEVEL', () => {
    it('treats a blank value as unset (info)', () => {
      expect(loadConfig({ LOG_LEVEL: ' ' }).logLevel).toBe('info');
    });

    it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const)('accepts %j', (level) => {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    });

    it.each(['verbose', 'INFO', '3'])('refuses %j, naming the variable and the accepted levels', (level) => {
      const err = configError({ LOG_LEVEL: level });
      expect(err.message).toContain('LOG_LEVEL');
      expect(err.message).toContain('fatal, error, warn, info, debug, trace, silent');
    });
  });

  describe('NODE_ID', () => {
    it('defaults to a per-process id that contains the pid and differs between calls', () => {
      const a = loadConfig({}).nodeId;
      const b = loadConfig({}).nodeId;
      expect(a).toContain(`-${process.pid}-`);
      expect(b).toContain(`-${process.pid}-`);
      expect(a).not.toBe(b);
    });

    it('takes NODE_ID when given, trimmed', () => {
      expect(loadConfig({ NODE_ID: ' node-7 ' }).nodeId).toBe('node-7');
    });
  });

  it('HOST and REDIS_KEY_PREFIX are taken as given', () => {
    expect(loadConfig({ HOST: '::' }).host).toBe('::');
    expect(loadConfig({ REDIS_KEY_PREFIX: 'tenant-a:' }).redisKeyPrefix).toBe('tenant-a:');
  });
});

describe('Redis topology: exactly one of REDIS_URL, REDIS_SENTINELS (+ REDIS_SENTINEL_MASTER), REDIS_CLUSTER_NODES', () => {
  it('REDIS_SENTINELS with a master name, credentials and TLS from REDIS_USERNAME / REDIS_PASSWORD / REDIS_TLS', () => {
    expect(
      loadConfig({
        REDIS_SENTINELS: 's1:26379, s2 ,[::1]:26380',
        REDIS_SENTINEL_MASTER: 'mymaster',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: 'pw with space ',
        REDIS_TLS: 'true',
      }).redis,
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      db: 0,
      username: 'app',
      password: 'pw with space ',
      tls: true,
      sentinelAuth: { username: undefined, password: undefined },
    });
    expect(
      loadConfig({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'm', REDIS_SENTINEL_USERNAME: 'watch', REDIS_SENTINEL_PASSWORD: 'sp' })
        .redis,
    ).toMatchObject({ kind: 'sentinel', sentinelAuth: { username: 'watch', password: 'sp' }, password: undefined });
  });

  it('REDIS_CLUSTER_NODES: seed nodes, credentials and TLS, and the sharded adapter by default', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'c1:7000, c2 ,[::1]:7002', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' });
    expect(config.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'c1', port: 7000 },
        { host: 'c2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: 'pw',
      tls: true,
    });
    expect(config.adapterMode).toBe('sharded');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'c1:7000', ADAPTER_MODE: 'sharded' }).adapterMode).toBe('sharded');
    expect(loadConfig({ REDIS_URL: 'redis://a:1' }).adapterMode).toBe('classic');
  });

  it.each([
    [
      { REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 's:1', REDIS_SENTINEL_MASTER: 'm' },
      'set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS (got REDIS_URL and REDIS_SENTINELS)',
    ],
    [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'c:1' }, 'got REDIS_URL and REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 's:1' }, 'REDIS_SENTINELS needs REDIS_SENTINEL_MASTER'],
    [{ REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 's:99999', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS entries must be host:port'],
    [{ REDIS_URL: 'redis://a:1', REDIS_PASSWORD: 'hunter2' }, 'with REDIS_URL put them in the URL'],
    [{ REDIS_PASSWORD: 'hunter2' }, 'REDIS_PASSWORD set, but no Redis is'],
    [{ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_MASTER: 'm', REDIS_TLS: 'maybe' }, 'REDIS_TLS must be true or false'],
    [{ REDIS_URL: 'redis://a:1', REDIS_SENTINEL_PASSWORD: 'hunter2' }, 'REDIS_SENTINEL_PASSWORD set without REDIS_SENTINELS'],
    [{ REDIS_CLUSTER_NODES: 'c1:7000,c2:7001', ADAPTER_MODE: 'classic' }, 'ADAPTER_MODE=classic with REDIS_CLUSTER_NODES'],
    [{ API_KEYS: 'backend' }, 'API_KEYS entry 1 must be name:secret'],
    [{ API_KEYS: 'backend:hunter2' }, 'the secret of "backend" must be at least 16 characters'],
    [{ API_KEYS: 'a:hunter2hunter2hunter2,a:hunter2hunter2hunter3' }, 'the name "a" is used twice'],
    [{ API_KEYS: 'a:hunter2hunter2hunter2,b:hunter2hunter2hunter2' }, '"b" has the same secret as another key'],
    [{ REDIS_CLUSTER_NODES: 'c1:7000,nope:x' }, 'REDIS_CLUSTER_NODES entries must be host:port'],
    [{ REDIS_CLUSTER_NODES: 'c1:7000', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS'],
  ] as [Record<string, string>, string][])('refuses %j, naming the variables and never a password', (env, message) => {
    const err = configError(env);
    expect(err.message).toContain(message);
    expect(err.message).not.toContain('hunter2');
  });
});

describe('AUTH_*: connection authentication', () => {
  const SECRET = 'a-planted-hmac-secret-of-32-bytes-at-least';
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('is off by default, with AUTH_DEFAULT_CHANNELS allowing join and publish everywhere', () => {
    const { auth } = loadConfig({});
    expect(auth.mode).toBe('off');
    expect(allows(auth.defaultChannels, 'any-channel', 'join')).toBe(true);
    expect(allows(auth.defaultChannels, 'any-channel', 'publish')).toBe(true);
  });

  it.each(['optional', 'required'])('AUTH_MODE=%s without a key source is a configuration error naming the sources', (mode) => {
    expect(() => loadConfig({ AUTH_MODE: mode })).toThrow(
      /AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_URL/,
    );
  });

  it('refuses an unknown mode', () => {
    expect(() => loadConfig({ AUTH_MODE: 'on' })).toThrow(ConfigError);
  });

  it('takes every key source at once, and the claims, issuer and audience', () => {
    const { auth } = loadConfig({
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWT_PUBLIC_KEY: pem,
      AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      AUTH_JWT_ISSUER: 'https://idp.example.com/',
      AUTH_JWT_AUDIENCE: 'realtime',
      AUTH_NAME_CLAIM: 'preferred_username',
      AUTH_CHANNELS_CLAIM: 'rt_channels',
      AUTH_DEFAULT_CHANNELS: '{"public-*": ["join"]}',
    });
    expect(auth.mode).toBe('required');
    expect(Buffer.from(auth.jwtSecret ?? new Uint8Array()).toString()).toBe(SECRET);
    expect(auth.jwtPublicKey?.asymmetricKeyType).toBe('ec');
    expect(auth.jwksUrl?.href).toBe('https://idp.example.com/.well-known/jwks.json');
    expect(auth).toMatchObject({
      issuer: 'https://idp.example.com/',
      audience: 'realtime',
      nameClaim: 'preferred_username',
      channelsClaim: 'rt_channels',
    });
    expect(allows(auth.defaultChannels, 'public-1', 'join')).toBe(true);
    expect(allows(auth.defaultChannels, 'public-1', 'publish')).toBe(false);
  });

  it('reads AUTH_JWT_PUBLIC_KEY_FILE, and accepts \\n-escaped inline PEM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-config-'));
    const file = join(dir, 'key.pem');
    writeFileSync(file, pem);
    expect(loadConfig({ AUTH_MODE: 'required', AUTH_JWT_PUBLIC_KEY_FILE: file }).auth.jwtPublicKey?.asymmetricKeyType).toBe('ec');
    expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: pem.replace(/\n/g, '\\n') }).auth.jwtPublicKey?.asymmetricKeyType).toBe('ec');
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY_FILE: join(dir, 'missing.pem') })).toThrow(/cannot read/);
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: pem, AUTH_JWT_PUBLIC_KEY_FILE: file })).toThrow(/only one/);
  });

  it('refuses a short secret, a bad PEM, a private key and a non-http JWKS URL without quoting them', () => {
    const short = 'short-secret-planted';
    expect(() => loadConfig({ AUTH_JWT_SECRET: short })).toThrow(/at least 32 bytes/);
    try {
      loadConfig({ AUTH_JWT_SECRET: short });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
    expect(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: 'not a pem' })).toThrow(/PEM public key/);
    const { privateKey } = generateKeyPairSync('ed25519');
    // A private key PEM yields its public half: a misplaced private key is at least not used to sign anything.
    expect(
      loadConfig({ AUTH_JWT_PUBLIC_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }).auth.jwtPublicKey?.type,
    ).toBe('public');
    expect(() => loadConfig({ AUTH_JWKS_URL: 'file:///etc/passwd' })).toThrow(/http\(s\) URL/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'not a url' })).toThrow(/http\(s\) URL/);
  });

  it('AUTH_REFRESH_WARNING_MS and AUTH_EXPIRY_GRACE_MS: defaults 60 000 and 10 000, integers from 0 to 2 147 483 647', () => {
    expect(loadConfig({}).auth).toMatchObject({ refreshWarningMs: 60_000, expiryGraceMs: 10_000 });
    expect(loadConfig({ AUTH_REFRESH_WARNING_MS: '0', AUTH_EXPIRY_GRACE_MS: '2147483647' }).auth).toMatchObject({
      refreshWarningMs: 0,
      expiryGraceMs: 2_147_483_647,
    });
    for (const name of ['AUTH_REFRESH_WARNING_MS', 'AUTH_EXPIRY_GRACE_MS']) {
      for (const bad of ['-1', '1.5', '2147483648', 'soon']) expect(configError({ [name]: bad }).message).toMatch(new RegExp(`^${name}`));
    }
  });

  it('AUTH_MAX_TOKEN_LIFETIME_S is one day by default, 60 s to 366 days, an integer', () => {
    expect(loadConfig({}).auth.maxTokenLifetimeS).toBe(86_400);
    expect(loadConfig({ AUTH_MAX_TOKEN_LIFETIME_S: '3600' }).auth.maxTokenLifetimeS).toBe(3600);
    expect(loadConfig({ AUTH_MAX_TOKEN_LIFETIME_S: '60' }).auth.maxTokenLifetimeS).toBe(60);
    for (const bad of ['59', '31622401', '1.5', '1h', '-1']) {
      expect(configError({ AUTH_MAX_TOKEN_LIFETIME_S: bad }).message).toContain('AUTH_MAX_TOKEN_LIFETIME_S');
    }
  });

  it('refuses an AUTH_DEFAULT_CHANNELS that is not JSON grants', () => {
    expect(() => loadConfig({ AUTH_DEFAULT_CHANNELS: '*' })).toThrow(/must be JSON/);
    expect(() => loadConfig({ AUTH_DEFAULT_CHANNELS: '{"*": "join"}' })).toThrow(/array of strings/);
  });
});

describe('TRUSTED_PROXIES', () => {
  it.each([
    ['proxy.local', 'is not an IP address or a CIDR range'],
    ['10.0.0.0/33', 'the prefix length must be 0-32'],
    ['fd00::/129', 'the prefix length must be 0-128'],
    ['10.0.0.0/8/1', 'is not an IP address or a CIDR range'],
    ['10.0.0.0/x', 'the prefix length must be 0-32'],
    ['10.0.0.1,', 'is not an IP address or a CIDR range'],
  ])('refuses %s', (value, problem) => {
    expect(configError({ TRUSTED_PROXIES: value }).message).toContain(problem);
    expect(configError({ TRUSTED_PROXIES: value }).message).toMatch(/^TRUSTED_PROXIES: /);
  });
});
