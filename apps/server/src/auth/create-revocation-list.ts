import type { Logger } from 'pino';
import type { RedisClient } from '@realtime/redis';
import type { Metrics } from '../metrics.js';
import { throttledLog } from '../throttled-log.js';
import { redisRevocationList } from './redis-revocation-list.js';
import { LocalRevocations, memoryRevocationList, type RevocationList } from './revocation-list.js';

/**
 * The node's revocation list: in Redis for a cluster member (with this
 * node's memory as the fallback), in memory for an embedded node. A read
 * that fails is counted in realtime_revocation_read_failures_total and
 * warned about at most once a minute (the reason only: never a token).
 */
export function createRevocationList(options: {
  redis: RedisClient | undefined;
  keyPrefix: string;
  maxTokenLifetimeS: number;
  metrics: Metrics;
  logger: Logger;
}): RevocationList {
  const local = new LocalRevocations(options.maxTokenLifetimeS);
  if (options.redis === undefined) return memoryRevocationList(local);
  const warn = throttledLog<string>((reason, failures) =>
    options.logger.warn(
      { event: 'revocation-read-failed', reason, failures },
      `could not read token revocations from Redis (${reason}): handshakes use what this node remembers (${failures} since the last warning)`,
    ),
  );
  return redisRevocationList({
    redis: options.redis,
    keyPrefix: options.keyPrefix,
    local,
    onReadFailure: (reason) => {
      options.metrics.revocationReadFailures.inc();
      warn(reason);
    },
  });
}
