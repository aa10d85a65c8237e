export * from './clients.js';
export * from './free-port.js';
export * from './redis-process.js';
export * from './server-process.js';
export * from './spawn-process.js';
export * from './teardown.js';
export * from './test-redis.js';
export * from './raw-engine-io.js';
