export * from './ack.js';
export * from './envelope.js';
export * from './error-codes.js';
export * from './event-names.js';
export * from './validation.js';
export * from './unicode.js';
