import type { Redis } from 'ioredis';

/** Inbound pub/sub messages of one node so far, by kind (`realtime_broker_messages_received_total`). */
export interface BrokerInbound {
  /** Topic broadcasts, whichever path they took: the adapter's, or the recovery history's (RECOVERY_WINDOW_MS). */
  broadcast: number;
  presence: number;
  other: number;
}

/** What one scrape of a node's `/metrics` tells the bench. */
export interface NodeSample {
  inbound: BrokerInbound;
  /** `process_cpu_seconds_total`: user + system CPU of the node process so far (µs resolution). */
  cpuSeconds: number;
}

const KINDS = ['broadcast', 'presence', 'other'] as const;

/** A series that a node exports only in some versions or settings: 0 when absent. */
function optionalSampleOf(text: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
}

function sampleOf(text: string, name: string, url: string): number {
  const match = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`${url}/metrics has no ${name}`);
  return Number(match[1]);
}

/** Scrapes one node's `/metrics` (on the public port: the bench unsets METRICS_PORT). */
export async function scrapeNode(url: string): Promise<NodeSample> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const text = await response.text();
  const inbound: BrokerInbound = { broadcast: 0, presence: 0, other: 0 };
  for (const kind of KINDS) inbound[kind] = sampleOf(text, `realtime_broker_messages_received_total{kind="${kind}"}`, url);
  inbound.broadcast += optionalSampleOf(text, 'realtime_broker_messages_received_total{kind="history"}');
  return { inbound, cpuSeconds: sampleOf(text, 'process_cpu_seconds_total', url) };
}

export function inboundDelta(before: BrokerInbound, after: BrokerInbound): BrokerInbound {
  return { broadcast: after.broadcast - before.broadcast, presence: after.presence - before.presence, other: after.other - before.other };
}

/** CPU seconds (user + system, INFO cpu: getrusage, µs resolution) that these redis-servers have used so far, together. */
export async function redisCpuSeconds(servers: readonly Redis[]): Promise<number> {
  const all = await Promise.all(
    servers.map(async (server) => {
      const info = await server.info('cpu');
      const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
      return field('used_cpu_user') + field('used_cpu_sys');
    }),
  );
  return all.reduce((a, b) => a + b, 0);
}
