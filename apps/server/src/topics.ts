/**
 * Socket.IO room names of channels and rooms. Ids never contain control
 * characters (validation refuses them), so U+001F separates parts without
 * ambiguity, and no topic can collide with a socket's own id-room.
 * Room `r1` of channel A and `r1` of channel B are different topics.
 */
const SEP = '\u001f';
const CHANNEL = `c${SEP}`;
const ROOM = `r${SEP}`;

export type Topic = { kind: 'channel'; channel: string; roomId: null } | { kind: 'room'; channel: string; roomId: string };

export function channelTopic(channel: string): string {
  return CHANNEL + channel;
}

export function roomTopic(channel: string, roomId: string): string {
  return ROOM + channel + SEP + roomId;
}

/** Parses a topic; undefined for any other Socket.IO room (e.g. a socket id). */
export function parseTopic(name: string): Topic | undefined {
  if (name.startsWith(CHANNEL)) return { kind: 'channel', channel: name.slice(CHANNEL.length), roomId: null };
  if (name.startsWith(ROOM)) {
    const at = name.indexOf(SEP, ROOM.length);
    if (at === -1) return undefined;
    return { kind: 'room', channel: name.slice(ROOM.length, at), roomId: name.slice(at + 1) };
  }
  return undefined;
}

export function isTopic(name: string): boolean {
  return name.startsWith(CHANNEL) || name.startsWith(ROOM);
}
