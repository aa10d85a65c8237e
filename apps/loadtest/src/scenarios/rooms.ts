import type { ResolvedOptions } from '../options.js';
import { roomOfClient } from '../placement.js';
import { channelName, roomTopic, type Topic } from '../topics.js';
import type { WorkerContext } from '../worker/context.js';
import { runMessaging } from './messaging.js';

/**
 * rooms: channels × rooms-per-channel rooms of members-per-room members each;
 * client i is in room ⌊i / members⌋ (so, with --placement spread, each room
 * spans the nodes; with room-local, room r is on target r mod N). Message k
 * goes to room k mod rooms, from its members in turn.
 */
export function roomOf(options: ResolvedOptions, room: number): Topic {
  const channel = Math.floor(room / options.roomsPerChannel);
  return roomTopic(channelName(options.runId, `c${channel}`), `room-${room % options.roomsPerChannel}`);
}

export function runRooms(ctx: WorkerContext): Promise<void> {
  const { options } = ctx;
  const rooms = options.channels * options.roomsPerChannel;
  const members = options.membersPerRoom;
  const topics = Array.from({ length: rooms }, (_, room) => roomOf(options, room));
  return runMessaging(ctx, {
    topicsOf: (index) => [topics[roomOfClient(options, index)] as Topic],
    senderOf: (k) => {
      const room = k % rooms;
      const member = Math.floor(k / rooms) % members;
      return { index: room * members + member, topic: topics[room] as Topic };
    },
  });
}
