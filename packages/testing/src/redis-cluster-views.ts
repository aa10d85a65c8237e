/** Parsers for what Redis Cluster nodes report (`CLUSTER NODES`, `CLUSTER SLOTS`, `INFO`). */

/** A node as one `CLUSTER NODES` line describes it, from the answering node's point of view. */
export interface ClusterNodeLine {
  readonly nodeId: string;
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  /** e.g. `myself`, `master`, `slave`, `fail?` (PFAIL), `fail`, `handshake`, `noaddr`. */
  readonly flags: readonly string[];
  /** The master's node id for a replica; `undefined` for a master. */
  readonly masterId: string | undefined;
  readonly linkState: 'connected' | 'disconnected';
  /** Slot ranges served, inclusive: `[start, end]`. */
  readonly slots: readonly (readonly [number, number])[];
  /** Slots this node (only on the `myself` line) is migrating or importing: `[5461->-id]`, `[5461-<-id]`. */
  readonly openSlots: readonly string[];
}

export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [nodeId = '', address = '', flags = '', master = '-', , , , linkState = '', ...slotFields] = line.split(' ');
      // ip:port@cport[,hostname]
      const match = /^(.*):(\d+)@(\d+)/.exec(address);
      const slots: [number, number][] = [];
      const openSlots: string[] = [];
      for (const field of slotFields) {
        if (field.startsWith('[')) {
          openSlots.push(field);
          continue;
        }
        const [start, end = start] = field.split('-').map(Number);
        if (start !== undefined && end !== undefined) slots.push([start, end]);
      }
      return {
        nodeId,
        host: match?.[1] ?? '',
        port: Number(match?.[2] ?? 0),
        busPort: Number(match?.[3] ?? 0),
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        linkState: linkState === 'connected' ? 'connected' : 'disconnected',
        slots,
        openSlots,
      };
    });
}

/** `INFO` and `CLUSTER INFO` text as a map of `field` → `value`. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n').flatMap((l) => l.split('\n'))) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** The `[ip, port, id]` of the master serving `slot`, from a `CLUSTER SLOTS` reply. */
export function slotOwnerFromSlots(reply: unknown, slot: number): { host: string; port: number; nodeId: string } | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (const range of reply as unknown[]) {
    if (!Array.isArray(range)) continue;
    const [start, end, master] = range as [unknown, unknown, unknown];
    if (typeof start !== 'number' || typeof end !== 'number' || slot < start || slot > end || !Array.isArray(master)) continue;
    const [host, port, nodeId] = master as [unknown, unknown, unknown];
    if (typeof host === 'string' && typeof port === 'number' && typeof nodeId === 'string') return { host, port, nodeId };
  }
  return undefined;
}

export function isMaster(node: ClusterNodeLine): boolean {
  return node.flags.includes('master');
}

/** Flagged `fail` or `fail?` (PFAIL) by the answering node. */
export function isFailing(node: ClusterNodeLine): boolean {
  return node.flags.includes('fail') || node.flags.includes('fail?');
}

/** Where a cluster node listens, and its cluster node id. */
export interface ClusterNodeAddress {
  readonly host: string;
  readonly port: number;
  readonly nodeId: string;
}

/** A master serving slots, and its replicas. */
export interface ClusterShard {
  readonly master: ClusterNodeAddress;
  /** Inclusive `[start, end]` ranges, ascending. */
  readonly slots: readonly (readonly [number, number])[];
  readonly replicas: readonly ClusterNodeAddress[];
}

/** The shards one node sees: masters with slots that it does not flag as failing, with their non-failing replicas. */
export function shardsOf(view: readonly ClusterNodeLine[]): ClusterShard[] {
  const address = (n: ClusterNodeLine): ClusterNodeAddress => ({ host: n.host, port: n.port, nodeId: n.nodeId });
  return view
    .filter((n) => isMaster(n) && !isFailing(n) && n.slots.length > 0)
    .map((m) => ({
      master: address(m),
      slots: [...m.slots].sort((a, b) => a[0] - b[0]),
      replicas: view
        .filter((r) => r.masterId === m.nodeId && !isFailing(r))
        .map(address)
        .sort((a, b) => a.port - b.port),
    }))
    .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
}
