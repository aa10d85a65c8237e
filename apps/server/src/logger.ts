import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';
import { serializeErrorSafely } from './log-redaction.js';

/**
 * JSON logs on stdout, the node id on every line. With LOG_PRETTY=true,
 * the same records as readable lines (for a terminal, not for collectors).
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeId'> & Partial<Pick<Config, 'logPretty'>>): Logger {
  const options = {
    level: config.logLevel,
    base: { nodeId: config.nodeId, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors are the one place a secret could slip into a line (ioredis attaches AUTH's arguments).
    serializers: { err: serializeErrorSafely, error: serializeErrorSafely },
  };
  // Synchronous writes: a line logged just before process.exit (the "drained"
  // line, a fatal start-up error) is never lost in an async buffer, whatever
  // the pipe's state. Lines are rare on the hot path (per-connection ones are debug).
  if (config.logPretty !== true) return pino(options, pino.destination({ dest: 1, sync: true }));
  // Synchronous, in this thread: lines are not lost when the process exits.
  return pino(
    options,
    pretty({
      sync: true,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      messageFormat: '{nodeId} {msg}',
      ignore: 'pid,hostname,nodeId',
    }),
  );
}
