import { unlessRefused, type ClusterAdmin } from './redis-cluster-admin.js';
import { isFailing, shardsOf, type ClusterShard } from './redis-cluster-views.js';

export interface SettledCluster {
  /** The ports that answered (the others refused connections: killed). */
  readonly reachable: readonly number[];
  /** The topology every reachable node agrees on. */
  readonly shards: readonly ClusterShard[];
}

export interface SettleExpectations {
  /** Every master serving slots has at least this many replicas (default 0). */
  readonly replicasPerMaster?: number;
}

const SLOTS = 16384;

function signature(shards: readonly ClusterShard[]): string {
  return shards
    .map((s) => `${s.master.nodeId}[${s.slots.map(([a, b]) => `${a}-${b}`).join(',')}]<-${s.replicas.map((r) => r.nodeId).join(',')}`)
    .join(' ');
}

/**
 * Resolves with the agreed topology when the cluster is settled, and throws
 * with the first reason it is not. Settled means, on every node of `ports`
 * that accepts connections: `cluster_state:ok` with all 16384 slots served;
 * the same masters, slots and replicas seen by all; no reachable node
 * flagged `fail`/`fail?` or still in handshake; no slot left migrating or
 * importing; and every replica's replication link to its cluster master up
 * with no sync in progress (so it could take over if its master died).
 */
export async function checkSettled(
  admin: ClusterAdmin,
  ports: readonly number[],
  expect: SettleExpectations = {},
): Promise<SettledCluster> {
  const answers = await Promise.all(
    ports.map((port) =>
      unlessRefused(async () => ({
        port,
        info: await admin.clusterInfo(port),
        view: await admin.nodes(port),
        replication: await admin.replication(port),
      })),
    ),
  );
  const live = answers.filter((a) => a !== undefined);
  if (live.length === 0) throw new Error('no node answers');
  const reachable = new Set(live.map((a) => a.port));
  let agreed: { port: number; shards: ClusterShard[]; signature: string } | undefined;
  for (const { port, info, view, replication } of live) {
    const state = info.get('cluster_state');
    if (state !== 'ok') throw new Error(`node ${port}: cluster_state:${state}`);
    if (info.get('cluster_slots_ok') !== String(SLOTS)) throw new Error(`node ${port}: cluster_slots_ok:${info.get('cluster_slots_ok')}`);
    const myself = view.find((n) => n.flags.includes('myself'));
    if (myself === undefined) throw new Error(`node ${port}: no myself line in CLUSTER NODES`);
    if (myself.openSlots.length > 0) throw new Error(`node ${port}: open slots ${myself.openSlots.join(' ')}`);
    const doubtful = view.find((n) => n.flags.includes('handshake') || (reachable.has(n.port) && isFailing(n)));
    if (doubtful !== undefined) throw new Error(`node ${port} sees node ${doubtful.port} as ${doubtful.flags.join(',')}`);
    if (myself.masterId !== undefined) {
      const master = view.find((n) => n.nodeId === myself.masterId);
      if (replication.get('role') !== 'slave' || replication.get('master_port') !== String(master?.port)) {
        throw new Error(`replica ${port}: replicates from port ${replication.get('master_port')}, its cluster master is ${master?.port}`);
      }
      if (replication.get('master_link_status') !== 'up' || replication.get('master_sync_in_progress') !== '0') {
        throw new Error(`replica ${port}: master_link_status:${replication.get('master_link_status')}`);
      }
    }
    const shards = shardsOf(view);
    const sig = signature(shards);
    if (agreed === undefined) agreed = { port, shards, signature: sig };
    else if (agreed.signature !== sig) throw new Error(`nodes ${agreed.port} and ${port} see different topologies`);
  }
  const shards = agreed?.shards ?? [];
  const wanted = expect.replicasPerMaster ?? 0;
  const short = shards.find((s) => s.replicas.filter((r) => reachable.has(r.port)).length < wanted);
  if (short !== undefined) throw new Error(`master ${short.master.port} has fewer than ${wanted} replicas`);
  return { reachable: [...reachable], shards };
}
