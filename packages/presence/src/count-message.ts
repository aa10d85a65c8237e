import type { TopicCount } from './presence-store.js';

/**
 * Parses a count announcement published by the scripts:
 * `[[topic, count, "version"], …]` (versions are strings: they exceed Lua's
 * 14-digit number formatting). Anything malformed is dropped, never thrown.
 */
export function parseCountMessage(message: string): TopicCount[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const counts: TopicCount[] = [];
  for (const entry of parsed) {
    if (!Array.isArray(entry) || entry.length !== 3) continue;
    const [topic, count, version] = entry as unknown[];
    if (typeof topic !== 'string' || typeof count !== 'number') continue;
    const v = Number(version);
    if (!Number.isSafeInteger(v)) continue;
    counts.push({ topic, count, version: v });
  }
  return counts;
}

/** Parses a script's flat `{topic, count, version, …}` reply. */
export function parseFlatCounts(flat: readonly (string | number)[]): TopicCount[] {
  const counts: TopicCount[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    counts.push({ topic: String(flat[i]), count: Number(flat[i + 1]), version: Number(flat[i + 2]) });
  }
  return counts;
}
