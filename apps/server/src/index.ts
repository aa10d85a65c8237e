export { loadConfig, ConfigError, type Config } from './config.js';
export { createLogger } from './logger.js';
export { startNode, type RealtimeNode } from './create-node.js';
export { channelTopic, roomTopic, parseTopic } from './topics.js';
