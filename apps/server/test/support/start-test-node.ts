import { registerTeardown } from '@realtime/testing';
import { createLogger, loadConfig, startNode, type RealtimeNode } from '../../src/index.js';

/** One node in this process on a free port, torn down with the test or suite. */
export async function startTestNode(env: Record<string, string> = {}): Promise<{ node: RealtimeNode; url: string }> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const node = await startNode(config, createLogger(config));
  registerTeardown(() => node.close());
  return { node, url: `http://127.0.0.1:${node.port}` };
}
