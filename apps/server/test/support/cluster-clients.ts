import { expect, vi } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { OnlineUsersEnvelope } from '@realtime/protocol';
import { emitWithAck, guideEnvelope, record } from '@realtime/testing';

/** A client with the counts it has been told, recorded from connection on. */
export interface Member {
  socket: Socket;
  channelCounts: OnlineUsersEnvelope[];
  roomCounts: OnlineUsersEnvelope[];
}

export function member(socket: Socket): Member {
  return {
    socket,
    channelCounts: record<OnlineUsersEnvelope>(socket, 'online-users'),
    roomCounts: record<OnlineUsersEnvelope>(socket, 'room-online-users'),
  };
}

export async function join(m: Member, channel: string, roomId?: string): Promise<number | undefined> {
  const event = roomId === undefined ? 'join-channel' : 'join-room';
  const ack = await emitWithAck<{ onlineUsers?: number }>(
    m.socket,
    event,
    guideEnvelope({ roomChannel: channel, roomId: roomId ?? null }, m.socket),
  );
  expect(ack.ok).toBe(true);
  return ack.ok ? ack.onlineUsers : undefined;
}

/** The last count each member was told for `channel` (and `roomId`). */
export function lastCounts(members: readonly Member[], channel: string, roomId?: string): (number | undefined)[] {
  return members.map((m) => {
    const seen = roomId === undefined ? m.channelCounts : m.roomCounts;
    const relevant = seen.filter((e) => e.data.roomChannel === channel && (roomId === undefined || e.data.roomId === roomId));
    return relevant.at(-1)?.data.onlineUsers;
  });
}

/** Waits until every member's last announced count is `expected`. */
export async function expectCounts(
  members: readonly Member[],
  channel: string,
  expected: number,
  timeoutMs = 10_000,
  roomId?: string,
): Promise<void> {
  await vi.waitFor(() => expect(lastCounts(members, channel, roomId)).toEqual(members.map(() => expected)), {
    timeout: timeoutMs,
    interval: 20,
  });
}
