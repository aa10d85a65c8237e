/**
 * Socket.IO room names of channels and rooms. Ids never contain control
 * characters (validation refuses them), so U+001F separates parts without
 * ambiguity, and no topic can collide with a socket's own id-room.
 * Room `r1` of channel A and `r1` of channel B are different topics.
 *
 * No topic is 20 characters long: the sharded Redis adapter takes every
 * 20-character room name for a socket id and broadcasts to it on the
 * channel every node subscribes, so a name that would be 20 long gets a
 * trailing separator (and keeps its own sharded channel).
 */
const SEP = '\u001f';
const CHANNEL = `c${SEP}`;
/** Every channel topic starts with this (room topics do not): lists channels by prefix. */
export const CHANNEL_TOPIC_PREFIX = CHANNEL;
const ROOM = `r${SEP}`;
const SOCKET_ID_LENGTH = 20;

export type Topic = { kind: 'channel'; channel: string; roomId: null } | { kind: 'room'; channel: string; roomId: string };

function unlikeSocketId(name: string): string {
  return name.length === SOCKET_ID_LENGTH ? name + SEP : name;
}

function withoutPadding(part: string): string {
  return part.endsWith(SEP) ? part.slice(0, -1) : part;
}

export function channelTopic(channel: string): string {
  return unlikeSocketId(CHANNEL + channel);
}

export function roomTopic(channel: string, roomId: string): string {
  return unlikeSocketId(ROOM + channel + SEP + roomId);
}

/** Parses a topic; undefined for any other Socket.IO room (e.g. a socket id). */
export function parseTopic(name: string): Topic | undefined {
  if (name.startsWith(CHANNEL)) return { kind: 'channel', channel: withoutPadding(name.slice(CHANNEL.length)), roomId: null };
  if (name.startsWith(ROOM)) {
    const at = name.indexOf(SEP, ROOM.length);
    if (at === -1) return undefined;
    return { kind: 'room', channel: name.slice(ROOM.length, at), roomId: withoutPadding(name.slice(at + 1)) };
  }
  return undefined;
}

export function isTopic(name: string): boolean {
  return name.startsWith(CHANNEL) || name.startsWith(ROOM);
}
