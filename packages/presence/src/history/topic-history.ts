import type { HistoryChannel } from './history-keys.js';

/**
 * Where a reader of a topic stands: the offset of the last message it has
 * (0 before any), in the history identified by `epoch`. An epoch is a random
 * id created with the topic's history; a history lost whole (Redis restarted
 * empty, a failover to a replica without the keys, the window passed with the
 * topic idle) comes back under a new epoch, so a position of the old one is
 * refused instead of silently read against different offsets.
 *
 * A failover that loses only the latest appends keeps the epoch and hands
 * the lost offsets out again: the tag tells the two entries at one offset
 * apart. A position past the new top is refused `ahead`; once the top has
 * passed it, the entry at its offset has another tag and it is refused `epoch`.
 */
export interface Position {
  offset: number;
  epoch: string;
  /**
   * The random tag of the entry at `offset` ('' at offset 0). `since` checks
   * it against the entry it holds there, so offsets that a failover lost and
   * handed out again to other messages are refused (`epoch`), not skipped.
   */
  tag: string;
}

export interface HistoryItem {
  offset: number;
  tag: string;
  payload: string;
}

/** Why `since` could not give every message after a position (never a partial answer). */
export type SinceRefusal =
  /** The topic's history is not the one the position was taken in: gone, or its entry at the position's offset is another message. */
  | 'epoch'
  /** The entry at the position, or entries after it, were trimmed by the cap, or expired. */
  | 'trimmed'
  /** More than `limit` entries would be returned. */
  | 'too-many'
  /** The position is past the topic's last offset (it came from elsewhere, or writes were lost). */
  | 'ahead';

export type SinceResult = { ok: true; items: HistoryItem[]; position: Position } | { ok: false; reason: SinceRefusal };

/**
 * A bounded history of messages per topic (a channel or a room), for
 * recovering what a connection missed while away.
 *
 * Guarantees:
 * - Each append gets the topic's next offset: 1 for the first of an epoch,
 *   then +1 each, with no gap and no repeat, whichever node appends.
 * - A reader at most `maxMessagesPerTopic` entries behind the top is served
 *   (a topic keeps that many plus the one a reader stands on), and nothing
 *   of a topic outlives `windowMs` after its last append.
 * - `since` answers `ok` only with every entry after the position, in
 *   order; otherwise it refuses with a reason. Never a silent gap.
 * - Payloads are stored as given: bounding their size is the caller's
 *   concern (Redis holds up to cap × payload size per active topic).
 * - A Redis failure rejects the promise; the caller decides how to degrade.
 */
export interface TopicHistory {
  /**
   * Appends `payload` and returns its position. With `publish`, the payload
   * is also published, in the same atomic step, on the topic's own channel
   * (`historyKeys(prefix).topic(topic).channel`, refused otherwise) as
   * `<offset>\x1f<epoch>\x1f<tag>\x1f<payload>` (see `parseHistoryMessage`), so
   * subscribers receive each message once, in offset order.
   */
  append(topic: string, payload: string, publish?: { channel: HistoryChannel }): Promise<Position>;
  /** The topic's current top: what a new reader starts from (offset 0 in a new epoch if the topic has no history). */
  position(topic: string): Promise<Position>;
  /**
   * Every entry after `from`, if there are at most `limit` and none is
   * missing. With `inclusive`, the entry at `from` too (it must be held and
   * carry `from.tag`): for a reader that knows an entry's position but has
   * not got that entry.
   */
  since(topic: string, from: Position, limit: number, options?: { inclusive?: boolean }): Promise<SinceResult>;
}

export interface TopicHistoryLimits {
  /** Entries kept per topic (exactly). Default 1 000, as `RECOVERY_MAX_MESSAGES_PER_TOPIC`. */
  maxMessagesPerTopic?: number;
  /** How long a topic's history lives after its last append. Default 120 000, as `RECOVERY_WINDOW_MS`. */
  windowMs?: number;
}

export const DEFAULT_MAX_MESSAGES_PER_TOPIC = 1000;
export const DEFAULT_HISTORY_WINDOW_MS = 120_000;
