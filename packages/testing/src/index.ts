export * from './free-port.js';
export * from './redis-process.js';
export * from './test-redis.js';
