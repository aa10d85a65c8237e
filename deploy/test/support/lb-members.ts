import { expect, vi } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { OnlineUsersEnvelope } from '@realtime/protocol';
import type { LocalNode } from '@realtime/local-cluster';
import { guideEnvelope, registerTeardown, type Transport } from '@realtime/testing';

/** The node whose logs show the `connection opened` line of `socketId` (nodes run with LOG_LEVEL=debug). */
export async function nodeOfSocket(nodes: readonly LocalNode[], socketId: string, timeoutMs = 10_000): Promise<LocalNode> {
  return vi.waitFor(
    () => {
      const node = nodes.find((n) => n.logs.some((entry) => entry.msg === 'connection opened' && entry.socketId === socketId));
      if (node === undefined) throw new Error(`no node logged the connection of ${socketId}`);
      return node;
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/**
 * A client as an application writes it: reconnection on, cookies kept (as
 * a browser does, so the load balancer's stickiness cookie comes back), and
 * on every (re)connect it joins its channel again (the server forgets a
 * connection's memberships when it closes). Records every count it is told.
 */
export interface AppMember {
  readonly socket: Socket;
  readonly transports: Transport[];
  /** Every `online-users` count for the channel, in order. */
  readonly counts: number[];
  /** The counts told to the current connection (a reconnected member must hear the count again). */
  currentCounts(): number[];
  /** Socket ids it has had, one per successful (re)connection. */
  readonly ids: string[];
  /** Engine.IO session ids (`sid` in every polling request's URL), one per successful (re)connection. */
  readonly sessionIds: string[];
  /** Messages of every `connect_error` (a refused handshake, "Session ID unknown", …). */
  readonly connectErrors: string[];
  /** Reasons of its disconnections. */
  readonly disconnects: string[];
  /** Resolves when its current connection's join is acknowledged. */
  joined(): Promise<void>;
}

export async function appMember(
  url: string,
  channel: string,
  options: { transports: Transport[]; reconnection?: boolean },
): Promise<AppMember> {
  const socket = io(url, {
    transports: options.transports,
    forceNew: true,
    timeout: 10_000,
    reconnection: options.reconnection ?? true,
    // socket.io-client's defaults are 1 s and 5 s: shorter keeps the test brisk, the behaviour is the same.
    reconnectionDelay: 200,
    reconnectionDelayMax: 1_000,
    // In Node.js: a cookie jar per connection, for the load balancer's stickiness cookie.
    withCredentials: true,
  });
  registerTeardown(() => {
    socket.disconnect();
  });
  const counts: number[] = [];
  const ids: string[] = [];
  const sessionIds: string[] = [];
  const connectErrors: string[] = [];
  const disconnects: string[] = [];
  let countsFrom = 0;
  let join: Promise<void> = Promise.resolve();
  socket.on('online-users', (e: OnlineUsersEnvelope) => {
    if (e.data.roomChannel === channel) counts.push(e.data.onlineUsers);
  });
  socket.on('disconnect', (reason) => disconnects.push(reason));
  const connected = new Promise<void>((resolve, reject) => {
    socket.on('connect', () => {
      ids.push(socket.id as string);
      sessionIds.push(socket.io.engine.id);
      countsFrom = counts.length;
      join = socket
        .timeout(10_000)
        .emitWithAck('join-channel', guideEnvelope({ roomChannel: channel }, socket))
        .then((ack: { ok: boolean }) => {
          if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
        });
      // Awaited through joined(); a failure nobody awaits must not be an unhandled rejection.
      join.catch(() => undefined);
      resolve();
    });
    socket.on('connect_error', (err) => {
      connectErrors.push(err.message);
      if (ids.length === 0) reject(err);
    });
  });
  await connected;
  await join;
  return {
    socket,
    transports: options.transports,
    counts,
    currentCounts: () => counts.slice(countsFrom),
    ids,
    sessionIds,
    connectErrors,
    disconnects,
    joined: () => join,
  };
}

/** Waits until the last count told to every member's current connection is `expected`. */
export async function expectLastCounts(members: readonly AppMember[], expected: number, timeoutMs = 15_000): Promise<void> {
  await vi.waitFor(() => expect(members.map((m) => m.currentCounts().at(-1))).toEqual(members.map(() => expected)), {
    timeout: timeoutMs,
    interval: 25,
  });
}
