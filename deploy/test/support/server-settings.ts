import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@realtime/local-cluster';

/**
 * The environment variables the server reads: config.ts is the only reader
 * of process.env, so its source is the list. Anything a deployment sets that
 * is not in it would be silently ignored.
 */
export function serverEnvNames(): Set<string> {
  const source = readFileSync(join(REPO_ROOT, 'apps/server/src/config.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)|\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]|\(env, '([A-Z][A-Z0-9_]*)'/g)) {
    names.add((m[1] ?? m[2] ?? m[3]) as string);
  }
  if (names.size < 10) throw new Error(`found only ${[...names].join(', ')} in config.ts: has the way it reads env changed?`);
  return names;
}
