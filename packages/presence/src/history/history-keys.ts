/**
 * Every Redis key and pub/sub channel of the per-topic message history,
 * built here and nowhere else (see `../../lua/README.md`).
 *
 * A topic's history keys carry the topic's `{t:<topic>}` hash tag, the same
 * as its presence keys (`../presence-keys.ts`), so one script touches one
 * Redis Cluster slot. The publish channel carries that tag too: a script may
 * SPUBLISH only to a shard channel of its own node, and an append that failed
 * there would keep its XADD (Redis does not roll a script back), so the
 * channel shares the topic's slot by construction, never by convention.
 *
 * The channel starts with `<prefix>h:` rather than `<prefix>{t:` so that
 * the presence count channels stay the only ones starting with
 * `PresenceKeys.countChannelPrefix`; Redis hashes the first `{...}` of a
 * name wherever it stands.
 */
declare const historyChannelBrand: unique symbol;

/** A topic's publish channel, as built by `historyKeys`: the only kind `append` publishes to. */
export type HistoryChannel = string & { readonly [historyChannelBrand]: true };

export interface TopicHistoryKeys {
  /** Hash: `epoch` (the history's random id) and `top` (the offset of the last append). */
  readonly meta: string;
  /** Stream: one entry per append, id `<offset>-1`, fields `t` = its random tag and `p` = the payload; capped in length. */
  readonly stream: string;
  /** Sharded pub/sub channel carrying each appended payload with its offset and epoch. */
  readonly channel: HistoryChannel;
}

export interface HistoryKeys {
  topic(topic: string): TopicHistoryKeys;
  /** Every history channel starts with this (and nothing else does): lets a subscriber sort inbound traffic. */
  readonly channelPrefix: string;
}

/** The keys under `prefix` (default `rt:`, as presence). */
export function historyKeys(prefix: string): HistoryKeys {
  const channelPrefix = `${prefix}h:`;
  return {
    topic(topic) {
      const base = `${prefix}{t:${topic}}:`;
      return { meta: `${base}hm`, stream: `${base}hs`, channel: `${channelPrefix}{t:${topic}}` as HistoryChannel };
    },
    channelPrefix,
  };
}
