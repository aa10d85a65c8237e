import { Redis } from 'ioredis';
import { registerTeardown, startRedisProcess } from '@realtime/testing';

/**
 * A redis-server of the test's own, with an admin connection, both torn
 * down with it: its command counts, SLOWLOG and keys are the test's alone.
 */
export async function privateRedis(): Promise<{ url: string; admin: Redis }> {
  const server = await startRedisProcess();
  registerTeardown(() => server.stop());
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  registerTeardown(() => {
    admin.disconnect();
  });
  return { url: server.url, admin };
}
