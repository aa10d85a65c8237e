import type { PublishItem } from './api-publisher.js';

const FIELDS = new Set(['channel', 'roomId', 'message', 'source', 'idempotencyKey']);

/** Checks one batch item's shape (types only; the protocol's rules come after): the item, or what is wrong with it. */
export function parseBatchItem(value: unknown): PublishItem | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'an item must be an object';
  const item = value as Record<string, unknown>;
  for (const key of Object.keys(item)) if (!FIELDS.has(key)) return `an item has no field "${key}"`;
  if (typeof item.channel !== 'string') return 'channel must be a string';
  if (typeof item.message !== 'string') return 'message must be a string';
  if (item.roomId !== undefined && typeof item.roomId !== 'string') return 'roomId must be a string';
  if (item.idempotencyKey !== undefined && typeof item.idempotencyKey !== 'string') return 'idempotencyKey must be a string';
  if (item.source !== undefined) {
    const source = item.source;
    if (typeof source !== 'object' || source === null || Array.isArray(source)) return 'source must be an object';
    if (Object.values(source).some((v) => typeof v !== 'string')) return 'source values must be strings';
  }
  return item as unknown as PublishItem;
}
