import type { Redis } from 'ioredis';

/** Calls per command, from INFO commandstats. */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] as string, Number(match[2]));
  return calls;
}

/** Commands run between two snapshots, without the INFO that took the second one. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [command, calls] of after) {
    const d = calls - (before.get(command) ?? 0) - (command === 'info' ? 1 : 0);
    if (d > 0) delta[command] = d;
  }
  return delta;
}
