const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `10s`, `2m`, `500ms`, `1.5s` or `1h` into
 * milliseconds; a bare number is seconds. Returns undefined when `text` is
 * not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (match === null) return undefined;
  const value = Number(match[1]);
  const unit = UNITS[match[2] ?? 's'] as number;
  return Math.round(value * unit);
}

/** `10000` → `10s`, `1500` → `1.5s`, `120000` → `2m`, `250` → `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${+(ms / 1000).toFixed(3)}s`;
}
