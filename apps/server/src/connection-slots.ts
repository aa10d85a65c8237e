/**
 * MAX_CONNECTIONS_PER_USER: the slots a user's connections hold. A slot is
 * taken in the handshake and given back when the connection ends (or never
 * came to be); a refused handshake takes none.
 */
export interface ConnectionSlots {
  /**
   * Takes a slot for connection `connectionId` of `userId`: true when taken,
   * false when the user already holds the limit. Never rejects (a store that
   * fails is decided around, see redis-connection-slots.ts).
   */
  acquire(userId: string, connectionId: string): Promise<boolean>;
  /** Gives the slot back. Idempotent; call it only after `acquire` settled true. Never throws. */
  release(userId: string, connectionId: string): void;
  /** Stops background work (lease renewal). The slots still held are freed by their connections' ends, or expire. */
  stop(): void;
}

/** The connections this node admitted, per user: its exact local count, and what it renews in Redis. */
export class LocalSlots {
  readonly #byUser = new Map<string, Set<string>>();

  count(userId: string): number {
    return this.#byUser.get(userId)?.size ?? 0;
  }

  add(userId: string, connectionId: string): void {
    let held = this.#byUser.get(userId);
    if (held === undefined) this.#byUser.set(userId, (held = new Set()));
    held.add(connectionId);
  }

  /** Whether it was held. A user with no connection left is forgotten (nothing grows). */
  delete(userId: string, connectionId: string): boolean {
    const held = this.#byUser.get(userId);
    if (held === undefined || !held.delete(connectionId)) return false;
    if (held.size === 0) this.#byUser.delete(userId);
    return true;
  }

  users(): IterableIterator<[string, ReadonlySet<string>]> {
    return this.#byUser.entries();
  }
}

/**
 * Without Redis (one node): the node's own count, exact, since the check and
 * the take happen in one synchronous step.
 */
export function memoryConnectionSlots(limit: number): ConnectionSlots {
  const local = new LocalSlots();
  return {
    acquire(userId, connectionId) {
      if (local.count(userId) >= limit) return Promise.resolve(false);
      local.add(userId, connectionId);
      return Promise.resolve(true);
    },
    release(userId, connectionId) {
      local.delete(userId, connectionId);
    },
    stop() {},
  };
}
