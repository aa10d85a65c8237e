import { unlessRefused, type ClusterAdmin } from './redis-cluster-admin.js';
import { checkSettled } from './redis-cluster-health.js';
import { parseInfo, slotOwnerFromSlots, type ClusterNodeAddress } from './redis-cluster-views.js';
import { pollUntil } from './poll-until.js';
import type { RedisProcess } from './redis-process.js';

/** What the operations share: the admin connections and the processes, by port. */
export interface ClusterContext {
  readonly admin: ClusterAdmin;
  readonly host: string;
  readonly password: string | undefined;
  readonly processes: ReadonlyMap<number, RedisProcess>;
}

export interface KillMasterResult {
  /** From the SIGKILL to the replica answering ROLE as master, in ms (polled every 20 ms). */
  readonly promotedAfterMs: number;
  /** From the SIGKILL to the whole cluster settled again (see `checkSettled`), in ms. */
  readonly settledAfterMs: number;
  /** The promoted replica's port: the slots' new master. */
  readonly newMasterPort: number;
}

export interface FailoverResult {
  /** The former replica, master now; the old master replicates from it. */
  readonly newMasterPort: number;
  /** From CLUSTER FAILOVER to the cluster settled with the roles swapped, in ms. */
  readonly tookMs: number;
}

export interface MigrateSlotResult {
  readonly fromMasterPort: number;
  /** Keys moved by MIGRATE (0 when the slot was empty or already on the target). */
  readonly movedKeys: number;
  /** From the call to every reachable node agreeing on the new owner, in ms. */
  readonly tookMs: number;
}

/** How long an operation may take to settle before it fails, in ms (a promotion is ~4 s here). */
const SETTLE_MS = 20_000;

const settled = (ctx: ClusterContext) =>
  pollUntil('cluster did not settle', SETTLE_MS, () => checkSettled(ctx.admin, [...ctx.processes.keys()]));

async function role(ctx: ClusterContext, port: number): Promise<string> {
  const reply = await ctx.admin.call(port, 'ROLE');
  return Array.isArray(reply) && typeof reply[0] === 'string' ? reply[0] : 'unknown';
}

async function myself(ctx: ClusterContext, port: number): Promise<ClusterNodeAddress & { isMaster: boolean }> {
  const me = (await ctx.admin.nodes(port)).find((n) => n.flags.includes('myself'));
  if (me === undefined) throw new Error(`node ${port}: no myself line in CLUSTER NODES`);
  return { host: me.host, port: me.port, nodeId: me.nodeId, isMaster: me.masterId === undefined };
}

/** `command` on the first node that accepts connections. */
export async function callAny(ctx: ClusterContext, command: string, ...args: (string | number)[]): Promise<unknown> {
  for (const port of ctx.processes.keys()) {
    const reply = await unlessRefused(async () => ({ value: await ctx.admin.call(port, command, ...args) }));
    if (reply !== undefined) return reply.value;
  }
  throw new Error(`${command}: no node accepts connections`);
}

export async function slotOf(ctx: ClusterContext, key: string): Promise<number> {
  return Number(await callAny(ctx, 'CLUSTER', 'KEYSLOT', key));
}

/** The owner of `slot` that every reachable node names (polls up to 5 s for agreement). */
export async function masterOfSlot(ctx: ClusterContext, slot: number): Promise<ClusterNodeAddress> {
  if (!Number.isInteger(slot) || slot < 0 || slot > 16383) throw new RangeError(`slot ${slot} is not in 0..16383`);
  return pollUntil(`nodes did not agree on the master of slot ${slot}`, 5000, async () => {
    const owners = await Promise.all(
      [...ctx.processes.keys()].map((port) => unlessRefused(() => ctx.admin.call(port, 'CLUSTER', 'SLOTS'))),
    );
    const named = owners.filter((reply) => reply !== undefined).map((reply) => slotOwnerFromSlots(reply, slot));
    const first = named[0];
    if (first === undefined || named.some((o) => o?.nodeId !== first.nodeId)) return undefined;
    return first;
  });
}

/** The replica of the master on `masterPort`, with its replication link up (throws if it has none). */
export async function replicaOf(ctx: ClusterContext, masterPort: number): Promise<ClusterNodeAddress> {
  const master = await myself(ctx, masterPort);
  if (!master.isMaster) throw new Error(`node ${masterPort} is not a master`);
  const candidates = (await ctx.admin.nodes(masterPort)).filter(
    (n) => n.masterId === master.nodeId && !n.flags.some((f) => f.startsWith('fail')),
  );
  for (const replica of candidates) {
    const link = await unlessRefused(() => ctx.admin.replication(replica.port));
    if (link?.get('master_link_status') === 'up') return { host: replica.host, port: replica.port, nodeId: replica.nodeId };
  }
  throw new Error(`master ${masterPort} has no replica with its replication link up`);
}

/** Waits (≤ 5 s) until the replica has processed the master's whole replication stream as of now. */
async function replicaCaughtUp(ctx: ClusterContext, masterPort: number, replicaPort: number): Promise<void> {
  const target = Number((await ctx.admin.replication(masterPort)).get('master_repl_offset'));
  await pollUntil(`replica ${replicaPort} did not catch up with master ${masterPort}`, 5000, async () => {
    const offset = Number((await ctx.admin.replication(replicaPort)).get('slave_repl_offset'));
    return offset >= target ? true : undefined;
  });
}

/** What a node reports about replication and the cluster, for an error message. */
async function diagnostics(ctx: ClusterContext, port: number): Promise<string> {
  try {
    const replication = await ctx.admin.text(port, 'INFO', 'replication');
    return `node ${port}:\n${replication.trim()}\n${(await ctx.admin.text(port, 'CLUSTER', 'NODES')).trim()}`;
  } catch (err) {
    return `node ${port}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export async function killMaster(ctx: ClusterContext, port: number): Promise<KillMasterResult> {
  const proc = ctx.processes.get(port);
  if (proc === undefined) throw new Error(`no node of this cluster listens on port ${port}`);
  const replica = await replicaOf(ctx, port);
  // A replica that never completed a sync, or whose data is older than
  // cluster-replica-validity-factor allows, refuses to take over forever.
  await replicaCaughtUp(ctx, port, replica.port);
  // Until the survivors flag it `fail` (~3 s), nothing else may answer on the
  // dead node's freed bus port: a foreign cluster node there answers PINGs
  // with another node id, the survivors mark the dead node `noaddr`, and a
  // noaddr node is never failure-detected (it stays `disconnected`, its
  // replica is never promoted). Returning only after the promotion keeps our
  // own next start (freePort may hand out those ports) out of that window.
  const killedAt = performance.now();
  await proc.kill();
  ctx.admin.forget(port);
  try {
    await pollUntil(
      `replica ${replica.port} was not promoted`,
      SETTLE_MS,
      async () => ((await role(ctx, replica.port)) === 'master' ? true : undefined),
      20,
    );
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${await diagnostics(ctx, replica.port)}`, { cause: err });
  }
  const promotedAfterMs = performance.now() - killedAt;
  await settled(ctx);
  return { promotedAfterMs, settledAfterMs: performance.now() - killedAt, newMasterPort: replica.port };
}

export async function manualFailover(ctx: ClusterContext, masterPort: number): Promise<FailoverResult> {
  const replica = await replicaOf(ctx, masterPort);
  const startedAt = performance.now();
  await ctx.admin.call(replica.port, 'CLUSTER', 'FAILOVER');
  await pollUntil(`the replica ${replica.port} of ${masterPort} did not take over`, SETTLE_MS, async () => {
    if ((await role(ctx, replica.port)) !== 'master') return undefined;
    const demoted = parseInfo(await ctx.admin.text(masterPort, 'INFO', 'replication'));
    const following = demoted.get('master_port') === String(replica.port) && demoted.get('master_link_status') === 'up';
    return following ? true : undefined;
  });
  await settled(ctx);
  return { newMasterPort: replica.port, tookMs: performance.now() - startedAt };
}

/** Keys moved per MIGRATE. */
const BATCH = 100;

export async function migrateSlot(ctx: ClusterContext, slot: number, toMasterPort: number): Promise<MigrateSlotResult> {
  const startedAt = performance.now();
  const source = await masterOfSlot(ctx, slot);
  const target = await myself(ctx, toMasterPort);
  if (!target.isMaster) throw new Error(`node ${toMasterPort} is not a master`);
  if (source.nodeId === target.nodeId) return { fromMasterPort: source.port, movedKeys: 0, tookMs: performance.now() - startedAt };
  const { admin } = ctx;
  await admin.call(target.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.nodeId);
  await admin.call(source.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.nodeId);
  const auth = ctx.password === undefined ? [] : ['AUTH2', 'default', ctx.password];
  let movedKeys = 0;
  for (;;) {
    const reply = await admin.call(source.port, 'CLUSTER', 'GETKEYSINSLOT', slot, BATCH);
    const keys = Array.isArray(reply) ? reply.filter((k): k is string => typeof k === 'string') : [];
    if (keys.length === 0) break;
    // Timeout: the longest idle time of the transfer, under the admin connections' 2 s command timeout.
    await admin.call(source.port, 'MIGRATE', ctx.host, target.port, '', 0, 1000, ...auth, 'KEYS', ...keys);
    movedKeys += keys.length;
  }
  // The target first: it bumps its config epoch, so its claim wins everywhere.
  const masters = (await reachableMasters(ctx)).filter((p) => p !== target.port && p !== source.port);
  for (const port of [target.port, source.port, ...masters]) await admin.call(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.nodeId);
  await pollUntil(`nodes did not agree that ${toMasterPort} owns slot ${slot}`, SETTLE_MS, async () => {
    const { shards } = await checkSettled(admin, [...ctx.processes.keys()]);
    const owner = shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b));
    return owner?.master.nodeId === target.nodeId ? true : undefined;
  });
  return { fromMasterPort: source.port, movedKeys, tookMs: performance.now() - startedAt };
}

/** Ports of the reachable masters. */
async function reachableMasters(ctx: ClusterContext): Promise<number[]> {
  const ports = await Promise.all(
    [...ctx.processes.keys()].map(async (port) => ((await unlessRefused(() => role(ctx, port))) === 'master' ? port : undefined)),
  );
  return ports.filter((p) => p !== undefined);
}
