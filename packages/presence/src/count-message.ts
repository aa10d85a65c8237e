import type { TopicCount } from './presence-store.js';

/** A count announcement and the store process (incarnation) that made the change. */
export interface CountMessage {
  count: TopicCount;
  origin: string;
}

/**
 * Parses a count announcement published by the scripts on a topic's count
 * channel: `[topic, count, "version", origin]` (the version is a string: it
 * exceeds Lua's 14-digit number formatting). Anything malformed is dropped,
 * never thrown.
 */
export function parseCountMessage(message: string): CountMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
  const [topic, count, version, origin] = parsed as unknown[];
  if (typeof topic !== 'string' || typeof count !== 'number' || typeof origin !== 'string') return undefined;
  const v = Number(version);
  if (!Number.isSafeInteger(v) || !Number.isSafeInteger(count) || count < 0) return undefined;
  return { count: { topic, count, version: v }, origin };
}
