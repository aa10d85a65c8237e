import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/** JSON logs on stdout, the node id on every line. */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeId'>): Logger {
  return pino({
    level: config.logLevel,
    base: { nodeId: config.nodeId, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
