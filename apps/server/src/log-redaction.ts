import { stdSerializers } from 'pino';
import { redactUrlsInText } from '@realtime/redis';

/**
 * Properties that carry a client library's command arguments: ioredis puts
 * the failed command (`{ name: 'auth', args: [password] }`) on its errors.
 * No log line may carry them, at any depth.
 */
const SECRET_BEARING_KEYS = new Set(['command', 'args', 'password', 'auth', 'authorization']);

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactUrlsInText(value);
  if (typeof value !== 'object' || value === null || depth > 6) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_BEARING_KEYS.has(key.toLowerCase())) continue;
    out[key] = scrub(inner, depth + 1);
  }
  return out;
}

/**
 * pino's `err` serializer (type, message, stack, cause, own properties),
 * then scrubbed: command arguments dropped, credentials in URLs replaced.
 * Guarantee: an error logged as `{ err }` never prints a Redis password.
 */
export function serializeErrorSafely(err: unknown): unknown {
  const serialized = err instanceof Error ? stdSerializers.err(err) : err;
  return scrub(serialized, 0);
}
