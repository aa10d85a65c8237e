import type { ServerProcess } from '@realtime/testing';

/** One series of the /metrics text at `url`, or undefined when the node does not export it. */
export async function seriesValue(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** One series of a node's /metrics; 0 when absent (a counter that never moved has no labelled series). */
export async function metric(node: ServerProcess, series: string): Promise<number> {
  return (await seriesValue(node.url, series)) ?? 0;
}

/** The sum of one series over the nodes' /metrics (0 where absent). */
export async function metricSum(nodes: readonly ServerProcess[], series: string): Promise<number> {
  const values = await Promise.all(nodes.map((node) => metric(node, series)));
  return values.reduce((a, b) => a + b, 0);
}
