/**
 * Per user, the time before which its tokens are revoked (POST
 * /api/v1/users/{userId}/disconnect with `revokeTokensIssuedBefore`). A
 * user's time only ever moves forward: revoking with an earlier time than one
 * recorded changes nothing, so no call can un-revoke a token.
 */
export interface RevocationList {
  /**
   * Tokens of `userId` with an `iat` before this (unix seconds), or without
   * one, are revoked; undefined when nothing is. Never rejects: when the
   * shared store cannot be read it answers from what this node remembers.
   */
  revokedBefore(userId: string): Promise<number | undefined>;
  /**
   * Records a revocation until `issuedBeforeS` + AUTH_MAX_TOKEN_LIFETIME_S
   * (by then every token it revokes has expired). This node remembers it in
   * any case; rejects when it could not be stored for the whole cluster.
   */
  revoke(userId: string, issuedBeforeS: number): Promise<void>;
  /** Remembers, on this node only, a revocation another node recorded (a fallback for when the store cannot be read). */
  remember(userId: string, issuedBeforeS: number): void;
  /** What this node remembers for `userId`, synchronously: no store is read. */
  remembered(userId: string): number | undefined;
}

/** Users remembered by one node; past this, expired entries are dropped, then the oldest. */
const MAX_REMEMBERED_USERS = 100_000;

/**
 * One node's memory of revocations: the whole list without Redis, and with
 * it the fallback for when Redis cannot be read. Each entry is forgotten
 * when every token it revokes has expired (`issuedBeforeS` +
 * `maxTokenLifetimeS`); memory is bounded by MAX_REMEMBERED_USERS.
 */
export class LocalRevocations {
  readonly #entries = new Map<string, { issuedBeforeS: number; forgetAtMs: number }>();

  constructor(
    private readonly maxTokenLifetimeS: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** When the revocation of `issuedBeforeS` may be forgotten (ms since the epoch). */
  forgetAtMs(issuedBeforeS: number): number {
    return (issuedBeforeS + this.maxTokenLifetimeS) * 1000;
  }

  get(userId: string): number | undefined {
    const entry = this.#entries.get(userId);
    if (entry === undefined) return undefined;
    if (entry.forgetAtMs <= this.nowMs()) {
      this.#entries.delete(userId);
      return undefined;
    }
    return entry.issuedBeforeS;
  }

  /** Keeps the later of the remembered and the given time. */
  remember(userId: string, issuedBeforeS: number): void {
    const forgetAtMs = this.forgetAtMs(issuedBeforeS);
    if (forgetAtMs <= this.nowMs()) return;
    const current = this.get(userId);
    if (current !== undefined && current >= issuedBeforeS) return;
    this.#entries.delete(userId);
    if (this.#entries.size >= MAX_REMEMBERED_USERS) this.#makeRoom();
    this.#entries.set(userId, { issuedBeforeS, forgetAtMs });
  }

  #makeRoom(): void {
    const now = this.nowMs();
    for (const [userId, entry] of this.#entries) if (entry.forgetAtMs <= now) this.#entries.delete(userId);
    // Still full: the oldest recorded goes first (a Map iterates in insertion order).
    for (const userId of this.#entries.keys()) {
      if (this.#entries.size < MAX_REMEMBERED_USERS) break;
      this.#entries.delete(userId);
    }
  }
}

/** Without Redis: the node's memory is the list (a restart forgets it, as it forgets everything else). */
export function memoryRevocationList(local: LocalRevocations): RevocationList {
  return {
    revokedBefore: (userId) => Promise.resolve(local.get(userId)),
    revoke: (userId, issuedBeforeS) => Promise.resolve(local.remember(userId, issuedBeforeS)),
    remember: (userId, issuedBeforeS) => local.remember(userId, issuedBeforeS),
    remembered: (userId) => local.get(userId),
  };
}
