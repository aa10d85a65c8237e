import { io, type Socket } from 'socket.io-client';
import { ProtocolEvent, joinEventOf, leaveEventOf, messageEventOf, type Ack, type JoinAck } from '@realtime/protocol';
import { nowMs } from './clock.js';
import { connectFailureReason } from './failures.js';
import type { SequenceTracker } from './sequence-tracker.js';
import type { Topic } from './topics.js';

export type Transport = 'websocket' | 'polling';

/** One membership of one connection: from the join (acknowledged at `joinedAt`) to the leave or disconnect. */
export interface Membership {
  topic: Topic;
  client: number;
  target: number;
  /** When the join was acknowledged; null while pending or when it failed. */
  joinedAt: number | null;
  /** When the leave was sent or the connection closed; null while a member. */
  leftAt: number | null;
  /** What was received from each sender stream during this membership. */
  trackers: Map<string, SequenceTracker>;
}

export type Outcome = { ok: true; ms: number; onlineUsers?: number } | { ok: false; reason: string; detail: string };

export type DeliveryHandler = (client: LoadClient, topicKey: string, payload: unknown) => void;

interface EnvelopeLike {
  data?: { roomChannel?: unknown; roomId?: unknown; onlineUsers?: unknown };
}

/**
 * One simulated user: a socket.io-client connection (no automatic
 * reconnection: the scenario decides) and its memberships. A reconnect is a
 * new socket; memberships belong to a socket, as on the server.
 */
export class LoadClient {
  socket: Socket | undefined;
  /** Memberships of the current socket by topic key. */
  readonly memberships = new Map<string, Membership>();
  /** Sockets opened so far (churn reconnects). */
  generation = 0;
  private readonly listening = new Set<string>();

  constructor(
    readonly index: number,
    readonly target: number,
    readonly url: string,
    readonly transport: Transport,
    private readonly onDelivery: DeliveryHandler,
    private readonly onUnexpectedClose: (client: LoadClient, reason: string) => void,
  ) {}

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  connect(timeoutMs: number): Promise<Outcome> {
    const started = nowMs();
    const socket = io(this.url, {
      transports: [this.transport],
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
      // Keep the load balancer's stickiness cookie, as a browser does: in
      // Node.js this gives the connection a cookie jar. Without it, polling
      // through `npm run cluster` or compose fails with "Session ID unknown".
      withCredentials: true,
    });
    this.socket = socket;
    this.generation++;
    this.listening.clear();
    return new Promise((resolve) => {
      socket.once('connect', () => {
        socket.off('connect_error');
        socket.on('disconnect', (reason) => {
          const at = nowMs();
          for (const membership of this.memberships.values()) membership.leftAt ??= at;
          this.memberships.clear();
          if (reason !== 'io client disconnect') this.onUnexpectedClose(this, reason);
        });
        resolve({ ok: true, ms: nowMs() - started });
      });
      socket.once('connect_error', (err: unknown) => {
        socket.off('connect');
        socket.close();
        resolve({ ok: false, ...connectFailureReason(err) });
      });
    });
  }

  /** Closes the connection (a leave of everything, on the server). */
  disconnect(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const at = nowMs();
    for (const membership of this.memberships.values()) membership.leftAt ??= at;
    this.memberships.clear();
    socket.removeAllListeners();
    socket.disconnect();
  }

  /**
   * Joins a channel or room. The membership exists from the emit (so early
   * deliveries are tracked) and counts from the acknowledgement on.
   */
  join(topic: Topic, timeoutMs: number, membershipLog: Membership[]): Promise<Outcome> {
    const socket = this.socket;
    if (socket === undefined || !socket.connected) return Promise.resolve({ ok: false, reason: 'not connected', detail: 'not connected' });
    this.listen(topic);
    const membership: Membership = {
      topic,
      client: this.index,
      target: this.target,
      joinedAt: null,
      leftAt: null,
      trackers: new Map(),
    };
    this.memberships.set(topic.key, membership);
    membershipLog.push(membership);
    const event = joinEventOf(topic);
    const envelope = {
      data: { message: '', roomId: topic.roomId, roomChannel: topic.channel },
      source: { platform: 'loadtest', userName: `lt-${this.index}` },
    };
    return this.emitWithAck(socket, event, envelope, timeoutMs).then((outcome) => {
      if (outcome.ok) membership.joinedAt = nowMs();
      else if (this.memberships.get(topic.key) === membership) this.memberships.delete(topic.key);
      return outcome;
    });
  }

  leave(topic: Topic, timeoutMs: number): Promise<Outcome> {
    const socket = this.socket;
    const membership = this.memberships.get(topic.key);
    if (membership !== undefined) {
      membership.leftAt = nowMs();
      this.memberships.delete(topic.key);
    }
    if (socket === undefined || !socket.connected) return Promise.resolve({ ok: false, reason: 'not connected', detail: 'not connected' });
    const event = leaveEventOf(topic);
    return this.emitWithAck(socket, event, { data: { message: '', roomId: topic.roomId, roomChannel: topic.channel } }, timeoutMs);
  }

  /** Sends a message to a channel (event = channel id) or a room (`notify-room`). */
  send(topic: Topic, message: string, ackTimeoutMs: number | null): Promise<Outcome> | undefined {
    const socket = this.socket as Socket;
    const event = messageEventOf(topic);
    const envelope = { data: { message, roomId: topic.roomId, roomChannel: topic.channel } };
    if (ackTimeoutMs === null) {
      socket.emit(event, envelope);
      return undefined;
    }
    return this.emitWithAck(socket, event, envelope, ackTimeoutMs);
  }

  /** Registers a listener for a server → client event (presence events in join-storm). */
  on(event: string, listener: (payload: EnvelopeLike) => void): void {
    this.socket?.on(event, listener);
  }

  private listen(topic: Topic): void {
    const socket = this.socket as Socket;
    if (topic.kind === 'channel') {
      if (this.listening.has(topic.channel)) return;
      this.listening.add(topic.channel);
      const key = topic.key;
      socket.on(topic.channel, (payload: unknown) => this.onDelivery(this, key, payload));
      return;
    }
    if (this.listening.has(ProtocolEvent.NotifyRoom)) return;
    this.listening.add(ProtocolEvent.NotifyRoom);
    socket.on(ProtocolEvent.NotifyRoom, (payload: EnvelopeLike) => {
      const data = payload?.data;
      this.onDelivery(this, `r:${String(data?.roomChannel)}/${String(data?.roomId)}`, payload);
    });
  }

  private emitWithAck(socket: Socket, event: string, envelope: object, timeoutMs: number): Promise<Outcome> {
    const started = nowMs();
    return new Promise((resolve) => {
      socket.timeout(timeoutMs).emit(event, envelope, (err: Error | null, ack: Ack | JoinAck | undefined) => {
        if (err) return resolve({ ok: false, reason: 'ack timeout', detail: `no acknowledgement of "${event}" within ${timeoutMs} ms` });
        if (ack === undefined || ack === null || typeof ack !== 'object') {
          return resolve({ ok: false, reason: 'bad ack', detail: `acknowledgement of "${event}" is not an object` });
        }
        if (!ack.ok) {
          // Servers other than ours (a baseline) may refuse without the { code, message } error.
          const error = (ack as { error?: { code?: unknown; message?: unknown } }).error;
          const reason = typeof error?.code === 'string' ? error.code : 'refused';
          const detail = typeof error?.message === 'string' ? error.message : `"${event}" refused without an error`;
          return resolve({ ok: false, reason, detail });
        }
        const onlineUsers = (ack as { onlineUsers?: unknown }).onlineUsers;
        resolve(typeof onlineUsers === 'number' ? { ok: true, ms: nowMs() - started, onlineUsers } : { ok: true, ms: nowMs() - started });
      });
    });
  }
}
