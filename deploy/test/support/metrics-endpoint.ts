/**
 * Where Prometheus scrapes a node started from its process: the metrics port
 * its listening line names (`metricsPort`, from METRICS_PORT), or the main
 * port for a server that has no separate metrics port.
 */
export function metricsUrl(node: { readonly port: number; readonly logs: readonly Record<string, unknown>[] }): string {
  const listening = node.logs.find((entry) => entry.event === 'listening');
  if (listening === undefined) throw new Error('the node has not logged its listening line');
  const port = typeof listening.metricsPort === 'number' ? listening.metricsPort : node.port;
  return `http://127.0.0.1:${port}/metrics`;
}
