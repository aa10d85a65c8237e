export * from './ack.js';
export * from './envelope.js';
export * from './errors.js';
export * from './event-names.js';
export * from './events.js';
export * from './topic-events.js';
export * from './validation.js';
export * from './unicode.js';
