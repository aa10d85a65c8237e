import { expiryMoments } from './expiry-moments.js';
import type { Principal } from './authorizer.js';

/** Longest delay setTimeout takes (2^31 − 1 ms, about 24.8 days); a later moment is reached in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface ExpirySchedulerOptions<C> {
  /** AUTH_REFRESH_WARNING_MS. */
  warningMs: number;
  /** AUTH_EXPIRY_GRACE_MS. */
  graceMs: number;
  /** The token of `connection` expires at `expiresAt` (unix seconds): send `auth-expiring`. */
  warn(connection: C, expiresAt: number): void;
  /** No valid refresh came: close `connection` with AUTH_EXPIRED. */
  expire(connection: C, expiresAt: number): void;
  /** Called with the number of connections holding a timer, whenever it changes. */
  onSize?(size: number): void;
}

/**
 * The node's token expiries. Guarantees: at most one timer per connection
 * at any time (the warning's, then the close's), so the cost per connection
 * is one Map entry and one Node timer; `schedule` replaces whatever the
 * connection had (a refresh reschedules); `cancel` (on disconnect) leaves
 * nothing behind; a principal without `exp` holds no timer.
 *
 * Why not one heap with one timer for the whole node: Node's timers are
 * already that (one native timer, lists per duration, O(1) insert and
 * clear), so a heap here would rebuild it and add lazy deletion for
 * refreshes. What this class adds is the bound (one timer per connection)
 * and the single place that owns and counts them.
 */
export class ExpiryScheduler<C> {
  readonly #timers = new Map<C, NodeJS.Timeout>();

  constructor(private readonly options: ExpirySchedulerOptions<C>) {}

  /** (Re)schedules `connection` for `principal`, accepted at `acceptedAtMs` (epoch ms). */
  schedule(connection: C, principal: Principal, acceptedAtMs: number): void {
    this.#clear(connection);
    const moments = expiryMoments(principal, acceptedAtMs, this.options.warningMs, this.options.graceMs);
    const expiresAt = principal.expiresAt;
    if (moments === undefined || expiresAt === undefined) return this.#sized();
    this.#arm(connection, moments.warnAtMs, () => {
      this.options.warn(connection, expiresAt);
      this.#arm(connection, moments.closeAtMs, () => {
        this.cancel(connection);
        this.options.expire(connection, expiresAt);
      });
    });
    this.#sized();
  }

  /** Forgets `connection` (it disconnected): its timer is cleared. */
  cancel(connection: C): void {
    if (this.#clear(connection)) this.#sized();
  }

  /** Connections holding a timer. */
  get size(): number {
    return this.#timers.size;
  }

  /** Clears every timer (the node is closing). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#sized();
  }

  #arm(connection: C, atMs: number, fire: () => void): void {
    const delayMs = atMs - Date.now();
    const timer =
      delayMs > MAX_DELAY_MS ? setTimeout(() => this.#arm(connection, atMs, fire), MAX_DELAY_MS) : setTimeout(fire, Math.max(0, delayMs));
    // A pending expiry never keeps the process alive by itself.
    timer.unref();
    this.#timers.set(connection, timer);
  }

  #clear(connection: C): boolean {
    const timer = this.#timers.get(connection);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.#timers.delete(connection);
    return true;
  }

  #sized(): void {
    this.options.onSize?.(this.#timers.size);
  }
}
