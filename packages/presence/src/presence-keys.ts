/**
 * Every Redis key and pub/sub channel the presence store uses, built here
 * and nowhere else (see `../lua/README.md` for what each holds).
 *
 * Three kinds of hash tag, so that every script touches one Redis Cluster
 * slot and the work spreads over every master:
 * - `{t:<topic>}`: one topic's members, version and count channel;
 * - `{n:<nodeId>}`: one node's index of its memberships;
 * - `{presence}`: the node registry and the cluster clock (small, one per cluster).
 *
 * Redis takes the tag up to the first `}`, so a topic containing `}` is
 * still consistent (all its keys share the shortened tag), it just shares
 * a slot with topics that start the same way.
 */
export interface TopicKeys {
  /** Hash `<nodeId>\x1f<connectionId>` → `<generation>\x1f<user length>\x1f<user><meta>`; `HLEN` is the count. */
  readonly members: string;
  /** Hash user id → that user's connections in the topic; `''` counts the anonymous ones. Written with `members`. */
  readonly users: string;
  /** String: the version of the topic's last change. */
  readonly version: string;
  /** Sharded pub/sub channel carrying the topic's count announcements. */
  readonly counts: string;
}

export interface PresenceKeys {
  topic(topic: string): TopicKeys;
  /** Hash `<connectionId>\x1f<topic>` → generation: what to reap when the node dies. */
  nodeIndex(nodeId: string): string;
  /** Sorted set nodeId → Redis time (ms) of its last heartbeat. */
  readonly nodes: string;
  /** Hash: `last` (ms of any node's last heartbeat), `since` (start of the current unbroken run). */
  readonly clock: string;
  /** Hash nodeId → `<reaperIncarnation>\x1f<lease end ms>`: who is reaping that node. */
  readonly reaping: string;
  /** Hash nodeId → incarnation: the process that holds the node id now (kept while the node is registered). */
  readonly incarnations: string;
  /** Every count channel starts with this (and nothing else does): lets a metric sort inbound traffic. */
  readonly countChannelPrefix: string;
}

/** The keys under `prefix` (default `rt:`). */
export function presenceKeys(prefix: string): PresenceKeys {
  const global = `${prefix}{presence}:`;
  return {
    topic(topic) {
      const base = `${prefix}{t:${topic}}:`;
      return { members: `${base}m`, users: `${base}u`, version: `${base}v`, counts: `${base}counts` };
    },
    nodeIndex: (nodeId) => `${prefix}{n:${nodeId}}:index`,
    nodes: `${global}nodes`,
    clock: `${global}clock`,
    reaping: `${global}reaping`,
    incarnations: `${global}incarnations`,
    countChannelPrefix: `${prefix}{t:`,
  };
}
