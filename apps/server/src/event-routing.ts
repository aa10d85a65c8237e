import { ProtocolEvent } from '@realtime/protocol';
import type { Topic } from './topics.js';

/** Which server → client event announces what, for channels and for rooms. */

export function joinEventOf(topic: Topic): string {
  return topic.kind === 'channel' ? ProtocolEvent.JoinChannel : ProtocolEvent.JoinRoom;
}

export function leaveEventOf(topic: Topic): string {
  return topic.kind === 'channel' ? ProtocolEvent.LeaveChannel : ProtocolEvent.LeaveRoom;
}

export function onlineUsersEventOf(topic: Topic): string {
  return topic.kind === 'channel' ? ProtocolEvent.OnlineUsers : ProtocolEvent.RoomOnlineUsers;
}
