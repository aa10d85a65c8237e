export * from './connect.js';
export * from './redis-url.js';
export * from './topology.js';
export * from './cluster-client.js';
