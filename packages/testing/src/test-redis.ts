import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { startRedisProcess, hasRedisServerBinary } from './redis-process.js';

/** A real Redis for one test suite. */
export interface TestRedis {
  url: string;
  /** Where it came from: REDIS_URL, a testcontainers container, or a child process. */
  source: 'REDIS_URL' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

/** A prefix no other suite or run uses, so suites can share one Redis. */
export function uniqueKeyPrefix(suite: string): string {
  return `test:${suite}:${randomUUID().slice(0, 8)}:`;
}

function dockerEngineLikely(): boolean {
  return process.env.DOCKER_HOST !== undefined || existsSync('/var/run/docker.sock');
}

async function startContainer(): Promise<TestRedis | undefined> {
  try {
    // Imported lazily: nothing of it is needed where no Docker engine runs,
    // and its import (dockerode, undici, ssh2) takes about half a second.
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine')
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      source: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined;
  }
}

/**
 * A real Redis, never a mock: `REDIS_URL` when set; else a testcontainers
 * container where a Docker engine answers; else a `redis-server` child
 * process on a free port.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return { url, source: 'REDIS_URL', stop: async () => undefined };
  if (dockerEngineLikely()) {
    const container = await startContainer();
    if (container !== undefined) return container;
  }
  if (hasRedisServerBinary()) {
    const proc = await startRedisProcess();
    return { url: proc.url, source: 'redis-server', stop: () => proc.stop() };
  }
  throw new Error(
    'Tests need a real Redis. Either set REDIS_URL (e.g. redis://127.0.0.1:6379), ' +
      'run a Docker engine (testcontainers starts redis:7-alpine), ' +
      'or install redis-server (apt-get install redis-server).',
  );
}
