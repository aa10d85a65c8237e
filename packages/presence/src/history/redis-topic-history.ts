import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisCommandClient } from '../redis-scripts.js';
import { historyKeys, type HistoryChannel, type HistoryKeys } from './history-keys.js';
import { checkSinceArguments, resolveHistoryLimits } from './history-options.js';
import type { Position, SinceResult, TopicHistory, TopicHistoryLimits } from './topic-history.js';

export interface RedisTopicHistoryOptions extends TopicHistoryLimits {
  /** Command connection (standalone, Sentinel-managed, or a Cluster client), as presence gets it. */
  redis: RedisCommandClient;
  /** Prefix of every key and channel. Default `rt:`. */
  keyPrefix?: string;
}

type ScriptArg = string | number;

interface HistoryCommands {
  historyAppend(meta: string, stream: string, ...argv: ScriptArg[]): Promise<[number, string]>;
  historyPosition(meta: string, stream: string, ...argv: ScriptArg[]): Promise<[number, string, string]>;
  historySince(
    meta: string,
    stream: string,
    ...argv: ScriptArg[]
  ): Promise<[0, string] | [1, string, number, string, ...(number | string)[]]>;
}

const SCRIPTS = {
  historyAppend: { file: 'history-append', keys: 2 },
  historyPosition: { file: 'history-position', keys: 2 },
  historySince: { file: 'history-since', keys: 2 },
} as const;

const defined = new WeakSet<RedisCommandClient>();

/** Defines the history scripts on `client` once; ioredis runs them with EVALSHA and falls back to EVAL after NOSCRIPT. */
function withHistoryCommands(client: RedisCommandClient): RedisCommandClient & HistoryCommands {
  if (!defined.has(client)) {
    for (const [command, { file, keys }] of Object.entries(SCRIPTS)) {
      const lua = readFileSync(new URL(`../../lua/${file}.lua`, import.meta.url), 'utf8');
      client.defineCommand(command, { numberOfKeys: keys, lua });
    }
    defined.add(client);
  }
  return client as RedisCommandClient & HistoryCommands;
}

/** A fresh candidate epoch: used only if the topic has none, so a history lost in Redis comes back under a new one. */
const newEpoch = (): string => randomBytes(8).toString('hex');
/** An entry's tag: 64 random bits, so two messages a failover gave one offset are told apart (a clash has odds of 2^-64). */
const newTag = (): string => randomBytes(8).toString('hex');

/**
 * Topic history in Redis (see `../../lua/README.md`): per topic a hash
 * (epoch, top offset) and a stream capped exactly at `maxMessagesPerTopic`,
 * both on the topic's hash tag and both expiring `windowMs` after the last
 * append. Every call is one script on one slot.
 *
 * A stream rather than a list: its entry ids are the offsets (XADD with the
 * explicit id `<offset>-1`), so `since` reads a range by offset, the oldest
 * offset kept is the first entry's id, and XADD trims exactly in the same
 * command.
 */
export class RedisTopicHistory implements TopicHistory {
  private readonly redis: RedisCommandClient & HistoryCommands;
  private readonly keys: HistoryKeys;
  private readonly maxMessagesPerTopic: number;
  private readonly windowMs: number;

  constructor(options: RedisTopicHistoryOptions) {
    this.redis = withHistoryCommands(options.redis);
    this.keys = historyKeys(options.keyPrefix ?? 'rt:');
    ({ maxMessagesPerTopic: this.maxMessagesPerTopic, windowMs: this.windowMs } = resolveHistoryLimits(options));
  }

  async append(topic: string, payload: string, publish?: { channel: HistoryChannel }): Promise<Position> {
    const keys = this.keys.topic(topic);
    // Another topic's channel may be on another node: the script would fail
    // after its XADD (no rollback). Refused before anything is written.
    if (publish !== undefined && publish.channel !== keys.channel) {
      throw new RangeError(`append publishes only on the topic's own channel`);
    }
    const tag = newTag();
    const [offset, epoch] = await this.redis.historyAppend(
      keys.meta,
      keys.stream,
      newEpoch(),
      // The entry a reader stands on, and the cap after it.
      this.maxMessagesPerTopic + 1,
      this.windowMs,
      publish === undefined ? '0' : '1',
      keys.channel,
      payload,
      tag,
    );
    return { offset, epoch, tag };
  }

  async position(topic: string): Promise<Position> {
    const keys = this.keys.topic(topic);
    const [offset, epoch, tag] = await this.redis.historyPosition(keys.meta, keys.stream, newEpoch(), this.windowMs);
    return { offset, epoch, tag };
  }

  async since(topic: string, from: Position, limit: number, options: { inclusive?: boolean } = {}): Promise<SinceResult> {
    checkSinceArguments(from, limit);
    const keys = this.keys.topic(topic);
    const inclusive = options.inclusive === true ? '1' : '0';
    const reply = await this.redis.historySince(keys.meta, keys.stream, from.epoch, from.offset, from.tag, limit, inclusive);
    if (reply[0] === 0) return { ok: false, reason: reply[1] as 'epoch' | 'trimmed' | 'too-many' | 'ahead' };
    const [, epoch, top, topTag, ...flat] = reply;
    const items = [];
    for (let i = 0; i < flat.length; i += 3)
      items.push({ offset: Number(flat[i]), tag: String(flat[i + 1]), payload: String(flat[i + 2]) });
    return { ok: true, items, position: { offset: top, epoch, tag: topTag } };
  }
}
