import { describe, expect, it } from 'vitest';
import { channelTopic, isTopic, parseTopic, roomTopic } from '../src/topics.js';

describe('topics', () => {
  it('round-trips channels and rooms of every length, and none is 20 characters (a socket id to the sharded adapter)', () => {
    for (let length = 1; length <= 40; length++) {
      const id = 'x'.repeat(length);
      const channel = channelTopic(id);
      const room = roomTopic('ch', id);
      expect(channel.length).not.toBe(20);
      expect(room.length).not.toBe(20);
      expect(parseTopic(channel)).toEqual({ kind: 'channel', channel: id, roomId: null });
      expect(parseTopic(room)).toEqual({ kind: 'room', channel: 'ch', roomId: id });
      expect(isTopic(channel) && isTopic(room)).toBe(true);
    }
    expect(channelTopic('a'.repeat(18))).toBe(`c\u001f${'a'.repeat(18)}\u001f`);
    expect(parseTopic('AbCdEfGhIjKlMnOpQrSt')).toBeUndefined();
  });
});
