export type * from './presence-store.js';
export { MemoryPresenceBackend, MemoryPresenceStore, type MemoryPresenceStoreOptions } from './memory-presence-store.js';
export { RedisPresenceStore, type RedisPresenceStoreOptions } from './redis-presence-store.js';
export { parseCountMessage } from './count-message.js';
export { presenceKeys, type PresenceKeys, type TopicKeys } from './presence-keys.js';
export type { RedisCommandClient } from './redis-scripts.js';
export { InvalidCursorError } from './listing-cursor.js';
