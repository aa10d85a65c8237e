import type { Cluster, Redis } from 'ioredis';
import type { Position } from '@realtime/presence';
import type { Delivery } from './delivery-log.js';
import type { LiveSession } from './session-record.js';

type RedisCommandClient = Redis | Cluster;

/** The keys of one node run, all on the run's own hash tag (one Redis Cluster slot per run, so one MULTI per write). */
export interface RunKeys {
  /** Stream: one entry per write, `f` (first q), `t` (last q), `d` (JSON deliveries); entries older than the retention are trimmed. */
  readonly log: string;
  /** Hash topic → JSON `[q, offset, epoch, tag]`: the topic's last delivery, kept while the topic has members here. */
  readonly last: string;
  /** Hash session id (pid) → JSON LiveSession: every live connection with a channel or room. */
  readonly sessions: string;
}

export function runKeys(prefix: string, runId: string): RunKeys {
  const base = `${prefix}{r:${runId}}:`;
  return { log: `${base}log`, last: `${base}last`, sessions: `${base}s` };
}

/** `[q, topic, offset, epoch, tag]` (stored), `[q, topic]` (delivered while Redis failed), `[q]` (to one connection only). */
type JournalEntry = [number, string, number, string, string] | [number, string] | [number];

export interface RunJournalOptions {
  redis: RedisCommandClient;
  keyPrefix: string;
  runId: string;
  /** How long deliveries are kept (the delivery log's retention). */
  retainMs: number;
  /** How long the keys outlive the run's last write (RECOVERY_WINDOW_MS): a killed run's sessions can be taken over that long. */
  keepMs: number;
  /** A write failed (Redis down): the journal has a hole there, and connections placed in it are refused. */
  onError(err: unknown): void;
}

/**
 * This node run's delivery log and live sessions, copied to Redis so that
 * a survivor can place the connections of a node killed without warning
 * (`kill -9`, a lost machine), whose sessions were never saved. Written
 * behind delivery, once per event-loop turn, in one MULTI on the run's
 * slot: a connection whose last offset falls in the last turn before the
 * kill (not stored yet) is refused, never guessed. Bounded: deliveries for
 * the retention, one last delivery per topic with local members, one
 * record per live connection in a channel or room; every key expires
 * `keepMs` after the run's last write or refresh.
 */
export class RunJournal {
  readonly keys: RunKeys;
  private entries: JournalEntry[] = [];
  /** Per topic its last delivery `[q, offset, epoch, tag]`, serialized only when the periodic refresh writes it. */
  private lasts = new Map<string, [number, number, string, string]>();
  private forgotten = new Set<string>();
  private sessions = new Map<string, LiveSession | undefined>();
  private scheduled: NodeJS.Immediate | undefined;
  private readonly refresher: NodeJS.Timeout;
  private closed = false;
  /** The highest sequence number whose write has completed (stored, or failed). */
  private writtenQ = 0;
  /** The highest sequence number recorded. */
  private recordedQ = 0;
  /** Calls waiting for their sequence number's write, in order. */
  private waiters: { q: number; run: () => void }[] = [];
  /** Whether the keys' expiry has been set once (then refreshed periodically). */
  private expiring = false;

  constructor(private readonly options: RunJournalOptions) {
    this.keys = runKeys(options.keyPrefix, options.runId);
    // Well within the retention (a topic's last delivery is written before its entries are trimmed)
    // and within `keepMs` (an idle run keeps its live sessions).
    const refreshMs = Math.max(1000, Math.min(10_000, Math.floor(options.keepMs / 4), Math.floor(options.retainMs / 3)));
    this.refresher = setInterval(() => this.write(true), refreshMs);
    this.refresher.unref();
  }

  /**
   * Runs `fn` once the write holding sequence number `q` has completed
   * (stored, or failed: delivery never waits on Redis for long), at once if
   * it has. In order of `q`. What a delivery waits for before it reaches a
   * connection, so that every offset a client holds is in the journal.
   */
  afterWrite(q: number, fn: () => void): void {
    if (q <= this.writtenQ || this.closed) return fn();
    this.waiters.push({ q, run: fn });
  }

  record(q: number, topic: string | undefined, position: Position | undefined): void {
    this.recordedQ = q;
    if (topic === undefined) this.entries.push([q]);
    else if (position === undefined) this.entries.push([q, topic]);
    else {
      this.entries.push([q, topic, position.offset, position.epoch, position.tag]);
      this.lasts.set(topic, [q, position.offset, position.epoch, position.tag]);
      this.forgotten.delete(topic);
    }
    this.schedule();
  }

  forget(topic: string): void {
    this.lasts.delete(topic);
    this.forgotten.add(topic);
    this.schedule();
  }

  /** A live connection's record (undefined: it ended, or was saved as a lost session). */
  session(pid: string, live: LiveSession | undefined): void {
    this.sessions.set(pid, live);
    this.schedule();
  }

  /** Writes what is pending and removes the run's keys (a graceful stop: every session was ended or saved). */
  async close(): Promise<void> {
    this.closed = true;
    this.written(Number.POSITIVE_INFINITY);
    clearInterval(this.refresher);
    clearImmediate(this.scheduled);
    const { log, last, sessions } = this.keys;
    await this.options.redis
      .multi()
      .del(log, last, sessions)
      .exec()
      .catch((err: unknown) => this.options.onError(err));
  }

  private schedule(): void {
    if (this.closed) return;
    this.scheduled ??= setImmediate(() => this.write(false));
  }

  /**
   * Writes what is pending: per event-loop turn the deliveries (one XADD)
   * and the live sessions that changed; every refresh (`periodic`, well
   * within the retention and `keepMs`) the topics' last deliveries and the
   * keys' expiry, which need not be written more often. One round trip.
   */
  private write(periodic: boolean): void {
    if (this.closed) return;
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const { log, last, sessions } = this.keys;
    const commands: [string, ...(string | number)[]][] = [];
    const entries = this.entries;
    this.entries = [];
    if (entries.length > 0) {
      const threshold = `${Math.max(0, Date.now() - this.options.retainMs)}-0`;
      const [first, newest] = [String(entries[0]![0]), String(entries.at(-1)![0])];
      commands.push(['xadd', log, 'MINID', threshold, '*', 'f', first, 't', newest, 'd', JSON.stringify(entries)]);
    }
    const written = [...this.sessions].filter((e): e is [string, LiveSession] => e[1] !== undefined);
    const ended = [...this.sessions].filter(([, live]) => live === undefined).map(([pid]) => pid);
    this.sessions = new Map();
    if (written.length > 0) commands.push(['hset', sessions, ...written.flatMap(([pid, live]) => [pid, JSON.stringify(live)])]);
    if (ended.length > 0) commands.push(['hdel', sessions, ...ended]);
    // The first write sets the expiries too: a run killed before its first refresh still expires.
    if (periodic || !this.expiring) {
      this.expiring = true;
      if (this.lasts.size > 0)
        commands.push(['hset', last, ...[...this.lasts].flatMap(([topic, delivery]) => [topic, JSON.stringify(delivery)])]);
      if (this.forgotten.size > 0) commands.push(['hdel', last, ...this.forgotten]);
      this.lasts = new Map();
      this.forgotten = new Set();
      const keepMs = this.options.keepMs + this.options.retainMs;
      for (const key of [log, last, sessions]) commands.push(['pexpire', key, keepMs]);
    }
    if (commands.length === 0) return;
    const upTo = this.recordedQ;
    const sent =
      commands.length === 1
        ? this.options.redis.call(...commands[0]!).then(() => undefined)
        : this.options.redis
            .multi(commands)
            .exec()
            .then((results) => {
              const failed = results?.find(([err]) => err !== null)?.[0];
              if (failed) throw failed;
            });
    sent.then(
      () => this.written(upTo),
      (err: unknown) => {
        this.options.onError(err);
        this.written(upTo);
      },
    );
  }

  private written(q: number): void {
    if (q <= this.writtenQ) return;
    this.writtenQ = q;
    let done = 0;
    while (done < this.waiters.length && this.waiters[done]!.q <= q) done++;
    const ready = this.waiters.splice(0, done);
    for (const waiter of ready) waiter.run();
  }
}

/** What a killed run left of its delivery log, as a survivor reads it. */
export interface RunLog {
  /** The first sequence number still kept (everything before was trimmed). */
  floorQ: number;
  /** The last sequence number up to which nothing is missing (a failed write leaves a hole). */
  throughQ: number;
  /** Per topic, its deliveries from `floorQ` to `throughQ`, oldest first. */
  entries: Map<string, Delivery[]>;
  /** Per topic, its last delivery, however old. */
  last: Map<string, Delivery>;
}

/** Reads a run's journal whole (bounded by its retention). */
export async function readRunLog(redis: RedisCommandClient, keys: RunKeys): Promise<RunLog> {
  const [stream, lastHash] = await Promise.all([redis.xrange(keys.log, '-', '+'), redis.hgetall(keys.last)]);
  const entries = new Map<string, Delivery[]>();
  let floorQ = Number.POSITIVE_INFINITY;
  let throughQ = 0;
  for (const [, fields] of stream) {
    const value = (name: string): string | undefined => fields[fields.indexOf(name) + 1];
    const from = Number(value('f'));
    const to = Number(value('t'));
    if (floorQ === Number.POSITIVE_INFINITY) {
      floorQ = from;
      throughQ = from - 1;
    }
    // A hole (a write that failed): nothing after it can be placed.
    if (from !== throughQ + 1) break;
    for (const entry of JSON.parse(value('d') ?? '[]') as JournalEntry[]) {
      if (entry.length === 1) continue;
      const [q, topic] = entry;
      let list = entries.get(topic);
      if (list === undefined) {
        list = [];
        entries.set(topic, list);
      }
      list.push({ q, position: entry.length === 5 ? { offset: entry[2], epoch: entry[3], tag: entry[4] } : undefined });
    }
    throughQ = to;
  }
  const last = new Map<string, Delivery>();
  for (const [topic, text] of Object.entries(lastHash)) {
    const [q, offset, epoch, tag] = JSON.parse(text) as [number, number, string, string];
    last.set(topic, { q, position: { offset, epoch, tag } });
  }
  return { floorQ: floorQ === Number.POSITIVE_INFINITY ? 1 : floorQ, throughQ, entries, last };
}

/** Takes a killed run's live session once (whoever's call deleted it gets it). */
export async function takeLiveSession(redis: RedisCommandClient, keys: RunKeys, pid: string): Promise<LiveSession | undefined> {
  const results = await redis.multi().hget(keys.sessions, pid).hdel(keys.sessions, pid).exec();
  const [[readErr, text], [deleteErr, deleted]] = (results ?? [
    [null, null],
    [null, 0],
  ]) as [[Error | null, string | null], [Error | null, number]];
  const err = readErr ?? deleteErr;
  if (err !== null) throw err;
  if (text === null || deleted !== 1) return undefined;
  return JSON.parse(text) as LiveSession;
}

/**
 * Killed runs as a survivor reads them: each live session taken once, each
 * run's log read once and shared by every connection recovered from it
 * (a killed node's clients all come back within seconds).
 */
export class KilledRuns {
  private readonly logs = new Map<string, { at: number; log: Promise<RunLog> }>();

  constructor(
    private readonly redis: RedisCommandClient,
    private readonly keyPrefix: string,
    /** How long a run's log read is reused. */
    private readonly reuseMs: number,
  ) {}

  take(runId: string, pid: string): Promise<LiveSession | undefined> {
    return takeLiveSession(this.redis, runKeys(this.keyPrefix, runId), pid);
  }

  /** Puts a taken session back (its node turned out alive): only if the node has not written a newer one meanwhile. */
  async putBack(runId: string, pid: string, live: LiveSession): Promise<void> {
    await this.redis.hsetnx(runKeys(this.keyPrefix, runId).sessions, pid, JSON.stringify(live));
  }

  log(runId: string): Promise<RunLog> {
    const now = Date.now();
    for (const [id, entry] of this.logs) if (now - entry.at > this.reuseMs) this.logs.delete(id);
    let entry = this.logs.get(runId);
    if (entry === undefined) {
      entry = { at: now, log: readRunLog(this.redis, runKeys(this.keyPrefix, runId)) };
      // A failed read is not kept: the next connection reads again.
      entry.log.catch(() => this.logs.delete(runId));
      this.logs.set(runId, entry);
    }
    return entry.log;
  }
}
