import { historyKeys, presenceKeys } from '@realtime/presence';
import type { Metrics } from './metrics.js';

/**
 * Sorts inbound pub/sub messages by what they carry, from their channel
 * name, without decoding it: topics' count channels (`<prefix>{t:…}:counts`)
 * are count announcements, `<prefix>h:{t:…}` topic events stored for recovery,
 * `<prefix>socket.io…` the adapter's broadcasts (and its request/response traffic). Feeds `realtime_broker_messages_received_total`.
 */
export function brokerMessageCounter(keyPrefix: string, metrics: Metrics): { count(channel: Buffer): void } {
  const presence = Buffer.from(presenceKeys(keyPrefix).countChannelPrefix);
  const adapter = Buffer.from(`${keyPrefix}socket.io`);
  const history = Buffer.from(historyKeys(keyPrefix).channelPrefix);
  const kinds = {
    presence: metrics.brokerMessagesReceived.labels('presence'),
    broadcast: metrics.brokerMessagesReceived.labels('broadcast'),
    history: metrics.brokerMessagesReceived.labels('history'),
    other: metrics.brokerMessagesReceived.labels('other'),
  };
  // Series from the first scrape.
  for (const counter of Object.values(kinds)) counter.inc(0);
  const startsWith = (channel: Buffer, prefix: Buffer): boolean =>
    channel.length >= prefix.length && channel.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
  return {
    count(channel) {
      if (startsWith(channel, adapter)) kinds.broadcast.inc();
      else if (startsWith(channel, presence)) kinds.presence.inc();
      else if (startsWith(channel, history)) kinds.history.inc();
      else kinds.other.inc();
    },
  };
}
