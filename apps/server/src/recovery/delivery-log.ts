import type { Position } from '@realtime/presence';

/** One topic event this node delivered: its node-wide sequence number and its place in the topic's history. */
export interface Delivery {
  q: number;
  /** Undefined for an event delivered here without being stored (Redis failed): a replay cannot start at or before it. */
  position: Position | undefined;
}

interface TopicLog {
  /** Newest last; `head` entries at the front are dropped. */
  entries: Delivery[];
  times: number[];
  head: number;
  /** The last entry dropped (by count or age): the one before `entries[head]`. */
  floor: Delivery | undefined;
}

export interface DeliveryLogOptions {
  /** This node run's id (the offset tokens' prefix, the run journal's key): unique per process, `[A-Za-z0-9_-]` only. */
  runId: string;
  /** Entries kept per topic (RECOVERY_MAX_MESSAGES_PER_TOPIC + 1: more behind, and the history would refuse anyway). */
  maxEntriesPerTopic: number;
  /** Entries older than this are dropped (see `retainMsFor`). */
  retainMs: number;
  now?: () => number;
  /**
   * Told of every sequence number as it is handed out, in order: `topic`
   * undefined for a delivery to one connection only (a replay). Where the
   * run journal copies the log to Redis, so that a killed node's
   * connections can be placed by a survivor.
   */
  onRecord?: (q: number, topic: string | undefined, position: Position | undefined) => void;
  /** Told when a topic is forgotten (no local members left). */
  onForget?: (topic: string) => void;
}

/**
 * How long a delivery must be remembered: a live connection received
 * everything sent more than PING_INTERVAL_MS + PING_TIMEOUT_MS ago (it
 * answered a later ping, or it would have been closed), so older entries
 * never decide where a lost connection stands. Twice that, and 2 s slack.
 */
export function retainMsFor(pingIntervalMs: number, pingTimeoutMs: number): number {
  return 2 * (pingIntervalMs + pingTimeoutMs) + 2000;
}

/**
 * The order this node delivered its topics' events in. Every event it sends
 * to its members carries an offset token (`<run>.<q>`, the node run's id
 * and a sequence number over all its topics), which socket.io-client keeps
 * and sends back on reconnect (`auth.offset`). From that one number and this
 * log, a connection's position in each of its topics follows: the last
 * event of the topic this node delivered at or before it. Socket.IO's own
 * recovery has one offset per server; the history here is per topic, so the
 * node remembers which topic offsets its sequence numbers stand for.
 *
 * Bounded: per topic at most `maxEntriesPerTopic` entries, none older than
 * `retainMs`; a topic without local members is forgotten.
 */
export class DeliveryLog {
  /** This run's id: tokens of another run (another node, or this one restarted) mean nothing here. */
  readonly runId: string;
  private q = 0;
  private readonly topics = new Map<string, TopicLog>();
  private readonly now: () => number;

  constructor(private readonly options: DeliveryLogOptions) {
    this.now = options.now ?? Date.now;
    this.runId = options.runId;
  }

  /** The last sequence number handed out. */
  get current(): number {
    return this.q;
  }

  /** A sequence number for a delivery to one connection only (a recovered connection's replay). */
  next(): number {
    const q = ++this.q;
    this.options.onRecord?.(q, undefined, undefined);
    return q;
  }

  token(q: number): string {
    return `${this.runId}.${q.toString(36)}`;
  }

  /** Records a delivery to the topic's members; returns its sequence number. */
  record(topic: string, position: Position | undefined): number {
    const q = ++this.q;
    this.options.onRecord?.(q, topic, position);
    let log = this.topics.get(topic);
    if (log === undefined) {
      log = { entries: [], times: [], head: 0, floor: undefined };
      this.topics.set(topic, log);
    }
    const now = this.now();
    log.entries.push({ q, position });
    log.times.push(now);
    const oldest = now - this.options.retainMs;
    while (log.entries.length - log.head > this.options.maxEntriesPerTopic || (log.times[log.head] as number) < oldest) {
      log.floor = log.entries[log.head];
      log.head += 1;
    }
    if (log.head > 1024 && log.head * 2 > log.entries.length) {
      log.entries.splice(0, log.head);
      log.times.splice(0, log.head);
      log.head = 0;
    }
    return q;
  }

  /** The topic's last delivery, if this node remembers one. */
  last(topic: string): Delivery | undefined {
    const log = this.topics.get(topic);
    if (log === undefined) return undefined;
    return log.entries.length > log.head ? log.entries[log.entries.length - 1] : log.floor;
  }

  /**
   * Where a connection that joined the topic at `q` and was lost at
   * `lostAtMs` may stand: the deliveries after `q` it may not have received
   * (from `lostAtMs` − retain on, where `retainMs` is the caller's bound),
   * oldest first, and `before`, the newest delivery after `q` it certainly
   * received (older, or dropped from this log), if any.
   */
  after(topic: string, q: number, sinceMs: number): { before: Delivery | undefined; entries: Delivery[] } {
    const log = this.topics.get(topic);
    if (log === undefined) return { before: undefined, entries: [] };
    const entries: Delivery[] = [];
    let before: Delivery | undefined = log.floor !== undefined && log.floor.q > q ? log.floor : undefined;
    for (let i = log.head; i < log.entries.length; i++) {
      const entry = log.entries[i] as Delivery;
      if (entry.q <= q) continue;
      if ((log.times[i] as number) < sinceMs) before = entry;
      else entries.push(entry);
    }
    return { before, entries };
  }

  forget(topic: string): void {
    this.topics.delete(topic);
    this.options.onForget?.(topic);
  }
}
