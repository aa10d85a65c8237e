/**
 * Cluster presence: which connections are in which topic (a channel or a
 * room), on which node, and how many there are cluster-wide.
 *
 * A store instance belongs to one node (`nodeId`). Every mutation returns the
 * topic's count and a version; versions of one topic only grow (across store
 * restarts too), so a node can drop a count older than one it already
 * announced: the last announcement a member sees is the truth.
 */

/** A topic's cluster-wide count at a version. */
export interface TopicCount {
  topic: string;
  count: number;
  /** Grows with every change of the topic's membership, cluster-wide. */
  version: number;
}

/**
 * A topic's connections and distinct users, read together. A user with
 * several connections in the topic counts once; every anonymous connection
 * (no user id) counts as a user of its own, so without authentication
 * `users` equals `count`.
 */
export interface TopicUsers extends TopicCount {
  users: number;
}

/** Result of `add`/`remove`: `changed` is false for a no-op (already in, or not in). */
export interface PresenceChange extends TopicCount {
  changed: boolean;
}

/** One membership of a connection of this node, as `restore` rewrites it. */
export interface Membership {
  topic: string;
  connectionId: string;
  /** Opaque data kept with the membership and handed back when it is reaped. */
  meta: string;
  /** The connection's user (a token's `sub`, never empty); absent for an anonymous connection. */
  userId?: string;
}

/** A membership `deregister` keeps: a connection lost abruptly, still within its grace. */
export interface KeptMembership {
  topic: string;
  connectionId: string;
}

/** A membership removed because its node died. */
export interface ReapedMembership extends Membership {
  nodeId: string;
}

export interface ReapResult {
  /** Memberships of dead nodes, removed by this call (never by two callers). */
  removed: ReapedMembership[];
  /** New counts of the topics that changed. */
  counts: TopicCount[];
}

export type LivenessState = 'alive' | 'lost';

/** What the store knows of a node's liveness. */
export interface NodeSilence {
  /** Milliseconds since the node's last heartbeat; Infinity when it is not registered (never was, deregistered or reaped). */
  ms: number;
  /** The process registered under the node id (its store's `incarnation`); undefined when none is. */
  incarnation: string | undefined;
}

/** One member of a topic, as `members` lists it. */
export interface MemberEntry {
  nodeId: string;
  connectionId: string;
  meta: string;
}

/**
 * One page of a listing. `nextCursor` is null on the last page; a cursor is
 * opaque and works on any store of the same backend (any node).
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type CountListener = (counts: readonly TopicCount[]) => void;

export interface PresenceStore {
  readonly nodeId: string;
  /** This process's own id among every process that ever ran under `nodeId`. */
  readonly incarnation: string;

  /**
   * Adds a connection of this node to a topic. Idempotent. `userId` is the
   * connection's user (undefined: anonymous); it is counted by `users`.
   */
  add(topic: string, connectionId: string, meta: string, userId?: string): Promise<PresenceChange>;

  /** Removes a connection of this node from a topic. Idempotent. */
  remove(topic: string, connectionId: string): Promise<PresenceChange>;

  /** Removes a connection from several topics at once (a disconnect). */
  removeMany(connectionId: string, topics: readonly string[]): Promise<PresenceChange[]>;

  /**
   * Takes a connection's membership over from the node it was on
   * (`fromNodeId`; this node's own id for a connection back on its node): a
   * connection recovered here. The entry moves to this node with no change
   * of count and nothing announced (`changed` false). When the entry is gone
   * (its grace ended, it was reaped or swept), it is added as by `add`
   * (`changed` true, the count announced). Atomic per topic against the old
   * node's own removal: exactly one of the two finds the entry.
   */
  move(topic: string, connectionId: string, fromNodeId: string, meta: string, userId?: string): Promise<PresenceChange>;

  /**
   * Removes a connection of `fromNodeId` (any node, this one included) from
   * topics: a lost connection that will not come back. `changed` is true
   * where this call removed it (only one caller is ever told so).
   */
  release(connectionId: string, fromNodeId: string, topics: readonly string[]): Promise<PresenceChange[]>;

  /** The topic's cluster-wide count: one O(1) read. */
  count(topic: string): Promise<TopicCount>;

  /**
   * The topic's cluster-wide count and distinct users, consistent with each
   * other (one atomic O(1) read). Kept up to date by every path that adds or
   * removes a member (joins, leaves, restores, reaping, deregister).
   */
  users(topic: string): Promise<TopicUsers>;

  /**
   * A page of the topic's members: at most `limit`, each member once over a
   * walk of a topic that does not change meanwhile (one that changes may
   * show a member twice or miss one that joined or left during the walk;
   * Redis resizes a hash only when it is written).
   * Bounded work per call, whatever the topic's size.
   */
  members(topic: string, limit: number, cursor?: string): Promise<Page<MemberEntry>>;

  /**
   * A page of the topics that have members and whose name starts with
   * `prefix` (literally), with their counts: at most `limit`, possibly fewer
   * (even none) with a `nextCursor` when the call's bounded work found no more.
   * A walk lists every topic that has members throughout it at least once;
   * one may be listed twice while Redis resizes its keyspace (SCAN's own
   * guarantee): callers that need a set dedupe.
   */
  topics(prefix: string, limit: number, cursor?: string): Promise<Page<{ topic: string; count: number }>>;

  /**
   * Subscribes to count changes made by any node (this one included) to the
   * topics where this node has members (a store may deliver more). Called
   * at least once per change, possibly batched; never with a version older
   * than one already delivered for that topic *by this subscription's source*,
   * but callers must still compare versions (results of `add` race it).
   */
  onCounts(listener: CountListener): () => void;

  /**
   * Refreshes this node's liveness. `'lost'` means the store no longer knows
   * this node (it was reaped, or the store restarted empty): call `restore`.
   */
  heartbeat(): Promise<LivenessState>;

  /**
   * Makes the store's view of this node equal to `memberships` (a snapshot of
   * the node's local state), marks the node alive and registers this
   * process as the node id's incarnation. Counts that change are published
   * as usual. Resolves with the entries it removed: this node's that the
   * snapshot lacks. A predecessor that ran under the same node id (a
   * process restarted in place: a container restarted in its pod) is a dead
   * node like any other: its entries stay, counted, for the member grace,
   * and `reapDeadNodes` removes what is left of them once it has passed
   * (with no grace, this restore removes them at once).
   */
  restore(memberships: readonly Membership[]): Promise<Membership[]>;

  /**
   * How long `nodeId` has not heartbeat, and which process holds it. Past
   * the store's TTL the node is dead, or cut off; another incarnation than
   * the one a caller knew means that process is dead (its node id runs
   * again). One O(1) read.
   */
  nodeSilence(nodeId: string): Promise<NodeSilence>;

  /**
   * Removes, atomically per dead node, the memberships of nodes whose
   * liveness expired more than the store's member grace ago, and (on the
   * store of the process that replaced it) what a predecessor under this
   * node id left, once the grace has passed since this process registered.
   */
  reapDeadNodes(): Promise<ReapResult>;

  /**
   * Removes this node's memberships and liveness (a graceful shutdown),
   * except `keep`: connections lost abruptly and still within their grace,
   * which may be recovered on other nodes. With nothing kept the node is
   * forgotten; otherwise it counts as dead from now, and survivors reap what
   * is left of it (entries not moved meanwhile) once the grace has passed.
   */
  deregister(keep?: readonly KeptMembership[]): Promise<TopicCount[]>;

  /** Releases subscriptions; does not deregister. */
  close(): Promise<void>;
}
