import { ConfigError, loadConfig, type Config } from './config.js';
import { findUnknownSettings } from './known-settings.js';
import { createLogger } from './logger.js';
import { startNode, type RealtimeNode } from './create-node.js';
import { RedisAuthError, describeTopology } from '@realtime/redis';

/** What this node is, in words: the first line it logs. */
function describeMode(config: Config): string {
  return config.redis === undefined
    ? "single node, state in memory: other nodes will not see this node's clients (set REDIS_URL to form a cluster)"
    : `cluster member via Redis at ${describeTopology(config.redis)}`;
}

/** Entry point: `npm start`. Configuration comes from the environment (see README). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  // Signal handlers go in first (before any line is logged, so a watcher that
  // saw the first line knows they are in) and before the node starts: a SIGTERM that arrives
  // between "listening" and the end of start-up (an orchestrator stopping a
  // pod that just came up) must drain, not kill the process mid-start.
  let node: RealtimeNode | undefined;
  let signals = 0;
  let drainRequested = false;
  const drain = (running: RealtimeNode): void => {
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  const shutdown = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
      process.exit(1);
    }
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'drain exceeded the grace period: exiting');
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    if (node === undefined) drainRequested = true;
    else drain(node);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  logger.info(
    {
      event: 'mode',
      mode: config.redis === undefined ? 'memory' : 'redis',
      topology: config.redis?.kind,
      redis: config.redis === undefined ? undefined : describeTopology(config.redis),
    },
    describeMode(config),
  );
  for (const { name, suggestion } of findUnknownSettings(process.env)) {
    logger.warn(
      { event: 'unknown-setting', variable: name, suggestion },
      `${name} is not a setting of this server and is ignored` +
        (suggestion === undefined ? ' (see the configuration table in the README)' : `: did you mean ${suggestion}?`),
    );
  }

  try {
    node = await startNode(config, logger);
  } catch (err) {
    if (err instanceof RedisAuthError) {
      // A configuration problem, not a crash: the same exit code as any bad setting.
      logger.fatal({ event: 'redis-auth-refused' }, err.message);
      process.stderr.write(`Invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'failed to start');
    process.exit(1);
  }
  if (drainRequested) drain(node);
}

void main();
