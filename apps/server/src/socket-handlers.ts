import type { Logger } from 'pino';
import {
  AUTH_EXPIRING_EVENT,
  AUTH_REFRESH_EVENT,
  DEFAULT_VALIDATION_LIMITS,
  ErrorCode,
  ProtocolEvent,
  ackFailure,
  validateEnvelope,
  type Ack,
  type JoinAck,
  type RelayedEnvelope,
  type EnvelopeData,
  type EnvelopeRequirements,
  type ValidationLimits,
} from '@realtime/protocol';
import type { Authorizer } from './auth/authorizer.js';
import { authenticateHandshakes } from './auth/handshake-auth.js';
import { ExpiryScheduler } from './auth/expiry-scheduler.js';
import { tokenRefresher } from './auth/token-refresh.js';
import type { Config } from './config.js';
import { stampEnvelope } from './envelopes.js';
import { topicLeaver } from './leave-topic.js';
import type { Metrics } from './metrics.js';
import type { NodePresence } from './node-presence.js';
import type { RoomSubscriptions } from './room-subscriptions.js';
import type { TopicBroadcaster } from './recovery/topic-broadcaster.js';
import { emitToConnection } from './recovery/emit-to-connection.js';
import type { SessionRecovery } from './recovery/session-recovery.js';
import { allowOneSocketPerConnection } from './one-socket-per-connection.js';
import type { ConnectionSlots } from './connection-slots.js';
import { limitConnectionsPerUser } from './connections-per-user.js';
import { TokenBucket } from './rate-limiter.js';
import { allows, type ChannelOperation } from './auth/channel-grants.js';
import { RefusalWindow } from './refusal-window.js';
import { closeConnection } from './server-close.js';
import type { RealtimeServer, RealtimeSocket } from './socket-types.js';
import { channelTopic, isTopic, parseTopic, roomTopic } from './topics.js';

/** The window of RATE_LIMIT_CLOSE_AFTER. */
const RATE_LIMIT_CLOSE_WINDOW_MS = 10_000;

type AckFn = (response: Ack | JoinAck) => void;

const CHANNEL_CONTROL: EnvelopeRequirements = { roomId: false, message: false };
const ROOM_CONTROL: EnvelopeRequirements = { roomId: true, message: false };
const CHANNEL_MESSAGE: EnvelopeRequirements = { roomId: false, message: true };
const ROOM_MESSAGE: EnvelopeRequirements = { roomId: true, message: true };

export interface SocketHandlerDeps {
  io: RealtimeServer;
  presence: NodePresence;
  /** When a joined topic's cross-node traffic reaches this node (sharded mode waits for Redis). */
  rooms: RoomSubscriptions;
  /** How a member's message reaches the topic's members on every node. */
  broadcaster: TopicBroadcaster;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** Who each connection is (AUTH_MODE); checked in the handshake, before `connection`. */
  authorizer: Authorizer;
  /** MAX_CONNECTIONS_PER_USER's slots; undefined when the limit is off. */
  connectionSlots: ConnectionSlots | undefined;
  /** Connection state recovery (RECOVERY_WINDOW_MS); undefined when it is off. */
  recovery: SessionRecovery | undefined;
}

/**
 * The client protocol. One `onAny` dispatcher handles every event (channel
 * messages arrive under arbitrary names). Every path answers the optional
 * ack; refusals are never relayed; nothing a client sends can throw out of
 * here or reject unhandled.
 */
export function registerSocketHandlers({
  io,
  presence,
  rooms,
  broadcaster,
  config,
  metrics,
  logger,
  authorizer,
  connectionSlots,
  recovery,
}: SocketHandlerDeps): void {
  const limits: ValidationLimits = { ...DEFAULT_VALIDATION_LIMITS, maxMessageBytes: config.maxMessageBytes };
  const leaveTopic = topicLeaver({ presence, metrics, onLeft: (socket) => recovery?.changed(socket) });
  // Token expiry (issue 10, section 3): warn, then close with AUTH_EXPIRED unless a refresh came.
  const expiry = new ExpiryScheduler<RealtimeSocket>({
    warningMs: config.auth.refreshWarningMs,
    graceMs: config.auth.expiryGraceMs,
    warn: (socket, expiresAt) => emitToConnection(socket, AUTH_EXPIRING_EVENT, { expiresAt }),
    expire: (socket, expiresAt) =>
      closeConnection(
        metrics,
        socket,
        ErrorCode.AUTH_EXPIRED,
        `the token expired at ${new Date(expiresAt * 1000).toISOString()} and was not refreshed: reconnect with a new token`,
      ),
    onSize: (size) => metrics.authExpiryTimers.set(size),
  });
  const refreshToken = tokenRefresher({ authorizer, expiry, leaveTopic, metrics, logger });
  const channelMessages = metrics.messagesIn.labels('channel');
  const roomMessages = metrics.messagesIn.labels('room');
  // Series exist from the first scrape, so rate() and histogram_quantile() work before the first event.
  for (const event of ['join', 'leave', 'message'] as const) metrics.eventHandlingSeconds.zero({ event });
  const handling = {
    join: metrics.eventHandlingSeconds.labels('join'),
    leave: metrics.eventHandlingSeconds.labels('leave'),
    message: metrics.eventHandlingSeconds.labels('message'),
  };
  /** Seconds since `startedAt` (a performance.now() reading). */
  const since = (startedAt: number): number => (performance.now() - startedAt) / 1000;

  const refuse = (ack: AckFn | undefined, code: ErrorCode, message: string): void => {
    metrics.refusedEvents.inc({ code });
    ack?.(ackFailure(code, message));
  };

  const rememberIdentity = (socket: RealtimeSocket, envelope: RelayedEnvelope): void => {
    const identity = socket.data.identity;
    identity.time = envelope.time;
    identity.source = envelope.source;
  };

  const subscriptionCount = (socket: RealtimeSocket): number => {
    let n = 0;
    for (const room of socket.rooms) if (isTopic(room)) n++;
    return n;
  };

  const topicOf = (data: EnvelopeData, room: boolean): string =>
    room ? roomTopic(data.roomChannel, data.roomId as string) : channelTopic(data.roomChannel);

  const describeTopic = (data: EnvelopeData, room: boolean): string =>
    room ? `room "${data.roomId as string}" of channel "${data.roomChannel}"` : `channel "${data.roomChannel}"`;

  /**
   * Whether the connection's grants allow `operation` on the envelope's
   * channel (a room inherits its channel's rights). Checked before
   * membership: a refused event is neither joined nor relayed.
   */
  const permitted = (socket: RealtimeSocket, data: EnvelopeData, operation: ChannelOperation): boolean =>
    allows(socket.data.principal.grants, data.roomChannel, operation);

  const forbid = (ack: AckFn | undefined, data: EnvelopeData, room: boolean, operation: ChannelOperation): void =>
    refuse(ack, ErrorCode.FORBIDDEN, `this connection may not ${operation} ${room ? 'rooms of ' : ''}channel "${data.roomChannel}"`);

  /** A join or leave ack: the cluster-wide count, unless the store could not give one. */
  const countAck = (onlineUsers: number | undefined): JoinAck => (onlineUsers === undefined ? { ok: true } : { ok: true, onlineUsers });

  async function join(socket: RealtimeSocket, payload: unknown, ack: AckFn | undefined, room: boolean, startedAt: number): Promise<void> {
    const result = validateEnvelope(payload, room ? ROOM_CONTROL : CHANNEL_CONTROL, limits);
    if (!result.ok) return refuse(ack, result.error.code, result.error.message);
    if (!permitted(socket, result.envelope.data, 'join')) return forbid(ack, result.envelope.data, room, 'join');
    const topic = topicOf(result.envelope.data, room);
    if (socket.rooms.has(topic)) {
      // Joining twice counts once and announces nothing. Awaited before the
      // ack is looked at: every call below must run whether or not the
      // client asked for an ack (the guide's clients never do).
      const onlineUsers = await presence.count(topic);
      return ack?.(countAck(onlineUsers));
    }
    if (subscriptionCount(socket) >= config.maxSubscriptionsPerConnection) {
      return refuse(
        ack,
        ErrorCode.LIMIT_EXCEEDED,
        `a connection may be in at most ${config.maxSubscriptionsPerConnection} channels and rooms`,
      );
    }
    const envelope = stampEnvelope(result.envelope, socket.id, new Date().toISOString(), socket.data.principal);
    rememberIdentity(socket, envelope);
    // Joined locally first: the joiner receives its own join-* and every later count.
    // Both adapters in use (in-memory base and Redis) join synchronously.
    void socket.join(topic);
    socket.data.joinedAt.set(topic, envelope.serverTime);
    recovery?.joined(socket, topic);
    metrics.joins.inc({ kind: room ? 'room' : 'channel' });
    // Acknowledged once other nodes' messages reach this member too (see room-subscriptions.ts).
    const [onlineUsers] = await Promise.all([presence.join(socket.id, topic, envelope), rooms.ready(topic)]);
    handling.join.observe(since(startedAt));
    ack?.(countAck(onlineUsers));
  }

  async function leave(socket: RealtimeSocket, payload: unknown, ack: AckFn | undefined, room: boolean, startedAt: number): Promise<void> {
    const result = validateEnvelope(payload, room ? ROOM_CONTROL : CHANNEL_CONTROL, limits);
    if (!result.ok) return refuse(ack, result.error.code, result.error.message);
    const topic = topicOf(result.envelope.data, room);
    if (!socket.rooms.has(topic)) {
      return refuse(ack, ErrorCode.NOT_A_MEMBER, `this connection is not in ${describeTopic(result.envelope.data, room)}`);
    }
    const envelope = stampEnvelope(result.envelope, socket.id, new Date().toISOString(), socket.data.principal);
    rememberIdentity(socket, envelope);
    const onlineUsers = await leaveTopic(socket, topic, room ? 'room' : 'channel', envelope);
    handling.leave.observe(since(startedAt));
    ack?.(countAck(onlineUsers));
  }

  /**
   * The hot path: a channel message or notify-room. Membership is the
   * socket's own rooms (no Redis); the envelope is stamped once, and one
   * Redis call takes it to every node (the adapter's publish, or with
   * recovery on the history append, after which the ack means "stored").
   */
  function relay(socket: RealtimeSocket, event: string, payload: unknown, ack: AckFn | undefined, startedAt: number): void {
    const room = event === ProtocolEvent.NotifyRoom;
    const result = validateEnvelope(payload, room ? ROOM_MESSAGE : CHANNEL_MESSAGE, limits);
    if (!result.ok) return refuse(ack, result.error.code, result.error.message);
    const data = result.envelope.data;
    if (!room && data.roomChannel !== event) {
      return refuse(ack, ErrorCode.INVALID_PAYLOAD, `data.roomChannel must equal the event name "${event}"`);
    }
    if (!permitted(socket, data, 'publish')) return forbid(ack, data, room, 'publish');
    const topic = topicOf(data, room);
    if (!socket.rooms.has(topic)) {
      return refuse(ack, ErrorCode.NOT_A_MEMBER, `join ${describeTopic(data, room)} before sending to it`);
    }
    const envelope = stampEnvelope(result.envelope, socket.id, new Date().toISOString(), socket.data.principal);
    rememberIdentity(socket, envelope);
    const stored = broadcaster.broadcast(topic, event, envelope);
    (room ? roomMessages : channelMessages).inc();
    if (stored === undefined) {
      handling.message.observe(since(startedAt));
      ack?.({ ok: true });
      return;
    }
    // Never rejects (a Redis failure delivers locally and resolves).
    void stored.then(() => {
      handling.message.observe(since(startedAt));
      ack?.({ ok: true });
    });
  }

  /** RATE_LIMIT_CLOSE_AFTER: a connection that keeps sending into its refusals is closed (and may reconnect after the bucket refills). */
  const refillMs = config.rateLimitEventsPerSecond === 0 ? 0 : Math.ceil((config.rateLimitBurst / config.rateLimitEventsPerSecond) * 1000);
  function closeIfPersistentlyRateLimited(socket: RealtimeSocket): void {
    if (config.rateLimitCloseAfter === 0) return;
    socket.data.rateLimitRefusals ??= new RefusalWindow(config.rateLimitCloseAfter, RATE_LIMIT_CLOSE_WINDOW_MS);
    if (!socket.data.rateLimitRefusals.record()) return;
    closeConnection(
      metrics,
      socket,
      ErrorCode.RATE_LIMITED,
      `refused RATE_LIMITED more than ${config.rateLimitCloseAfter} times in ${RATE_LIMIT_CLOSE_WINDOW_MS / 1000} s: reconnect and send at most ${config.rateLimitEventsPerSecond} events per second`,
      { retryAfterMs: refillMs },
    );
  }

  function dispatch(socket: RealtimeSocket, event: unknown, args: unknown[]): void {
    const startedAt = performance.now();
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (args.pop() as AckFn) : undefined;
    if (typeof event !== 'string') return refuse(ack, ErrorCode.INVALID_PAYLOAD, 'the event name must be a string');
    if (!socket.data.bucket.take()) {
      refuse(ack, ErrorCode.RATE_LIMITED, `at most ${config.rateLimitEventsPerSecond} events per second per connection`);
      return closeIfPersistentlyRateLimited(socket);
    }
    const payload = args[0];
    let pending: Promise<void> | undefined;
    switch (event) {
      case ProtocolEvent.JoinChannel:
        pending = join(socket, payload, ack, false, startedAt);
        break;
      case ProtocolEvent.JoinRoom:
        pending = join(socket, payload, ack, true, startedAt);
        break;
      case ProtocolEvent.LeaveChannel:
        pending = leave(socket, payload, ack, false, startedAt);
        break;
      case ProtocolEvent.LeaveRoom:
        pending = leave(socket, payload, ack, true, startedAt);
        break;
      case AUTH_REFRESH_EVENT:
        pending = refreshToken(socket, payload, ack);
        break;
      default:
        relay(socket, event, payload, ack, startedAt);
    }
    pending?.catch((err: unknown) => {
      logger.error({ err, event, socketId: socket.id }, 'event handler failed');
      refuse(ack, ErrorCode.INTERNAL, 'the server failed to handle this event; it may be retried');
    });
  }

  // Per-socket listeners are shared functions (`this` is the socket), not
  // closures made per connection: idle connections cost less heap.
  function onAnyEvent(this: RealtimeSocket, event: unknown, ...args: unknown[]): void {
    try {
      dispatch(this, event, args);
    } catch (err) {
      logger.error({ err, socketId: this.id }, 'event dispatch failed');
    }
  }
  // Also receives a client's own `error` event: without a listener, Node's
  // EventEmitter would throw it and crash the node.
  function onSocketError(this: RealtimeSocket, err: unknown): void {
    logger.debug({ err, socketId: this.id }, 'socket error');
  }
  function onDisconnecting(this: RealtimeSocket, reason: string): void {
    expiry.cancel(this);
    const topics = [...this.rooms].filter(isTopic);
    const identity = this.data.identity;
    // Decided at `disconnect`, which Socket.IO emits in the same step right after handing a
    // recoverable loss to persistSession (which marks the session kept): a kept session's
    // memberships stay for the grace, anything else leaves at once.
    this.once('disconnect', () => {
      recovery?.ended(this);
      if (this.data.kept === true) return presence.leaveLater(this.id, topics, identity);
      for (const name of topics) metrics.leaves.inc({ kind: parseTopic(name)?.kind ?? 'channel' });
      presence.leaveAll(this.id, topics, identity);
    });
    metrics.connectionsClosed.inc({ reason });
    logger.debug({ socketId: this.id, reason, topics: topics.length }, 'connection closed');
  }

  // First: no other middleware sees an unauthenticated socket.
  authenticateHandshakes(io, authorizer, metrics, logger);
  // Right after: it needs the principal. A middleware registered after it refuses through refuseHandshake, which gives the slot back.
  if (connectionSlots !== undefined) limitConnectionsPerUser(io, connectionSlots, config.maxConnectionsPerUser, metrics, logger);
  allowOneSocketPerConnection(io, metrics);
  // Last: it needs the principal, and refuses through refuseHandshake.
  if (recovery !== undefined) io.use((socket, next) => recovery.middleware(socket, next));
  io.on('connection', (socket) => {
    socket.data.identity = {};
    socket.data.joinedAt = new Map();
    socket.data.tracks = new Map();
    socket.data.bucket = new TokenBucket(config.rateLimitEventsPerSecond, config.rateLimitBurst);
    socket.data.rateLimitRefusals = undefined;
    socket.data.authRefresh = undefined;
    expiry.schedule(socket, socket.data.principal, Date.now());
    metrics.connectionsOpened.inc();
    logger.debug({ socketId: socket.id, transport: socket.conn.transport.name }, 'connection opened');
    socket.onAny(onAnyEvent);
    socket.on('error', onSocketError);
    socket.on('disconnecting', onDisconnecting);
    // Synchronously, before any event of the client: a recovered socket is back in its topics with what it missed.
    recovery?.resume(socket);
  });
}
