import type { TopicKind } from '@realtime/protocol';

/** A channel, or a room of a channel. Room `r1` of channel A and `r1` of channel B are different topics. */
export type TopicAddress = { kind: 'channel'; channel: string; roomId: null } | { kind: 'room'; channel: string; roomId: string };

/** One string per topic; ids never contain control characters (the protocol refuses them), so U+001F separates without ambiguity. */
export function topicKey(kind: TopicKind, channel: string, roomId: string | null): string {
  return kind === 'channel' ? `c\u001f${channel}` : `r\u001f${channel}\u001f${roomId ?? ''}`;
}

export function keyOf(address: TopicAddress): string {
  return topicKey(address.kind, address.channel, address.roomId);
}
