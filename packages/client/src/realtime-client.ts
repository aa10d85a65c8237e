import {
  AUTH_EXPIRING_EVENT,
  ErrorCode,
  SERVER_CLOSE_EVENT,
  isServerClose,
  joinEventOf,
  leaveEventOf,
  messageEventOf,
  type ServerClose,
} from '@realtime/protocol';
import { io, type Socket } from 'socket.io-client';
import { callWithAck } from './ack-call.js';
import { ConnectRetry } from './connect-retry.js';
import { ConnectionGate } from './connection-gate.js';
import { Deadline } from './deadline.js';
import { EnvelopeFactory } from './envelope-factory.js';
import { routeServerEvent } from './event-router.js';
import { KeySerializer } from './key-serializer.js';
import { Membership, type MembershipInfo } from './membership.js';
import { resolveOptions, type CallOptions, type RealtimeClientOptions, type ResolvedOptions } from './options.js';
import { RealtimeError, errorFromConnectError, isRealtimeError } from './realtime-error.js';
import { rejoinMembership, type RejoinOutcome } from './rejoin.js';
import { keyOf, type TopicAddress } from './topic-address.js';
import { ChannelHandle, RoomHandle, type Channel, type Room, type TopicOperations } from './topic-handles.js';
import { TypedEmitter } from './typed-emitter.js';
import { TokenRenewal, tokenSourceError } from './token-renewal.js';

/** What one reconnection restored. */
export interface RejoinReport {
  /**
   * The server recovered the connection (socket.io's `socket.recovered`,
   * with RECOVERY_WINDOW_MS on): same id, every membership kept, and what
   * was sent meanwhile delivered; nothing was joined again.
   */
  recovered: boolean;
  /** Joined again (or, recovered, kept), with their counts as last known. */
  rejoined: MembershipInfo[];
  /** Refused for good (each also announced by a `lost` event). */
  lost: { membership: MembershipInfo; error: RealtimeError }[];
}

/** Events of the client itself. */
export interface RealtimeClientEvents {
  /** Every connection, the first and each reconnection; on a reconnection, rejoining starts right after. */
  connect: () => void;
  /** The connection was lost (socket.io's reason). Memberships wait in `restoring` for the next connection. */
  disconnect: (reason: string) => void;
  /**
   * A connection attempt failed. With the server's code when it refused: a
   * retryable refusal (CONNECTION_LIMIT) is tried again with the reconnection
   * backoff; after any other the client stops (see `lost`).
   */
  connect_error: (error: RealtimeError) => void;
  /** After each reconnection, once every membership held before it was joined again or given up. */
  rejoin: (report: RejoinReport) => void;
  /** A membership ended without `leave()`: a rejoin refused for good, or no connection will come again. */
  lost: (membership: MembershipInfo, error: RealtimeError) => void;
  /** With `getToken`: the server took a renewed token (no reconnect); `expiresAt` is its `exp` in unix seconds, when it has one. */
  token_refresh: (expiresAt: number | undefined) => void;
  /**
   * With `getToken`: it threw at a (re)connection, or every renewal attempt
   * for one `auth-expiring` failed (its error, or the server's refusal). In
   * the second case the server closes the connection with AUTH_EXPIRED at
   * the token's expiry unless a later renewal succeeds.
   */
  token_error: (error: RealtimeError) => void;
}

/**
 * The typed SDK on socket.io-client. Guarantees:
 * - every acknowledged call returns a promise that settles exactly once,
 *   rejecting with a RealtimeError whose code is one of the registry's;
 * - after a reconnection it joins again every channel and room it was in,
 *   then emits `rejoin`; a membership it cannot restore is announced with
 *   `lost`: membership state is never silently lost;
 * - nothing is emitted while disconnected: calls wait for the connection
 *   (and sends for their topic's rejoin) within their timeout.
 */
export class RealtimeClient {
  readonly #options: ResolvedOptions;
  readonly #socket: Socket;
  readonly #factory: EnvelopeFactory;
  readonly #events = new TypedEmitter<RealtimeClientEvents>();
  readonly #memberships = new Map<string, Membership>();
  readonly #handles = new WeakMap<Membership, ChannelHandle | RoomHandle>();
  readonly #serializer = new KeySerializer();
  readonly #gate = new ConnectionGate();
  /** Retries of handshakes the server refused with a retryable code (CONNECTION_LIMIT). */
  readonly #connectRetry: ConnectRetry;
  /** Incremented on every connect and disconnect: a rejoin round of an older session stops. */
  #session = 0;
  #everConnected = false;
  #closed = false;
  /** The server's last `server-close`: why it is closing the connection, and whether to come back. */
  #serverClose: ServerClose | undefined;
  /** With `getToken`: answers the server's `auth-expiring`. */
  readonly #renewal: TokenRenewal | undefined;
  readonly #operations: TopicOperations = {
    send: (membership, text, options) => this.#send(membership, text, options),
    leave: (membership, options) => this.#leave(membership, options),
    joinRoom: (channel, roomId, options) => this.joinRoom(channel, roomId, options),
  };

  constructor(url: string, options: RealtimeClientOptions = {}) {
    this.#options = resolveOptions(options);
    this.#factory = new EnvelopeFactory(this.#options.source, this.#options.limits);
    const o = this.#options;
    this.#connectRetry = new ConnectRetry(o.reconnectionDelayMs, o.reconnectionDelayMaxMs);
    this.#socket = io(url, {
      transports: o.transports,
      // One connection per client: memberships belong to a connection.
      forceNew: true,
      reconnection: o.reconnection,
      reconnectionDelay: o.reconnectionDelayMs,
      reconnectionDelayMax: o.reconnectionDelayMaxMs,
      timeout: o.connectTimeoutMs,
      withCredentials: o.withCredentials,
      ...(o.path === undefined ? {} : { path: o.path }),
      ...(o.getToken !== undefined ? { auth: this.#handshakeAuth(o.getToken) } : o.auth === undefined ? {} : { auth: o.auth }),
    });
    if (o.getToken !== undefined) {
      this.#renewal = new TokenRenewal({
        socket: this.#socket,
        getToken: o.getToken,
        ackTimeoutMs: o.ackTimeoutMs,
        refreshed: (expiresAt) => this.#events.emit('token_refresh', expiresAt),
        failed: (error) => this.#events.emit('token_error', error),
      });
      const renewal = this.#renewal;
      this.#socket.on(AUTH_EXPIRING_EVENT, (payload: unknown) => {
        const expiresAt = (payload as { expiresAt?: unknown } | null)?.expiresAt;
        if (typeof expiresAt === 'number' && Number.isFinite(expiresAt)) renewal.expiring(expiresAt);
      });
    }
    this.#socket.on('connect', () => this.#onConnect());
    this.#socket.on('disconnect', (reason) => this.#onDisconnect(reason));
    this.#socket.on('connect_error', (err) => this.#onConnectError(err));
    this.#socket.on(SERVER_CLOSE_EVENT, (close: unknown) => (this.#serverClose = isServerClose(close) ? close : undefined));
    this.#socket.io.on('reconnect_failed', () =>
      this.#giveUp(new RealtimeError(ErrorCode.UNAVAILABLE, 'could not reconnect: every reconnection attempt failed')),
    );
    this.#socket.onAny((event: unknown, payload: unknown) => {
      routeServerEvent(event, payload, (key) => this.#memberships.get(key));
    });
  }

  /**
   * socket.io-client's `auth` callback: asked at every (re)connection, so a
   * reconnect always carries a fresh token. A getToken() failure is
   * reported and the handshake goes on without a token (the server refuses
   * it, or takes it as anonymous in `optional` mode).
   */
  #handshakeAuth(getToken: () => Promise<string>): (callback: (data: Record<string, unknown>) => void) => void {
    const base = typeof this.#options.auth === 'object' ? this.#options.auth : {};
    return (callback) => {
      Promise.resolve()
        .then(getToken)
        .then(
          (token) => callback({ ...base, token }),
          (err: unknown) => {
            this.#events.emit('token_error', tokenSourceError(err));
            callback({ ...base });
          },
        );
    };
  }

  /** The socket id while connected (it changes with every connection). */
  get id(): string | undefined {
    return this.#socket.id;
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  on<E extends keyof RealtimeClientEvents>(event: E, listener: RealtimeClientEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof RealtimeClientEvents>(event: E, listener: RealtimeClientEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  once<E extends keyof RealtimeClientEvents>(event: E, listener: RealtimeClientEvents[E]): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Every channel and room this client is in, is joining, or is restoring. */
  memberships(): MembershipInfo[] {
    return [...this.#memberships.values()].map((m) => m.info());
  }

  /**
   * Joins a channel; resolves with its handle (`onlineUsers` is the count
   * from the ack) once the server acknowledged. Joining a channel the client
   * is already in resolves with the same handle. Events received before the
   * promise resolved are delivered right after, to listeners attached in the
   * same turn as the `await`.
   */
  joinChannel(channel: string, options?: CallOptions): Promise<Channel> {
    return this.#join({ kind: 'channel', channel, roomId: null }, options) as Promise<Channel>;
  }

  /** Joins room `roomId` of `channel` (without joining the channel); as `joinChannel` otherwise. */
  joinRoom(channel: string, roomId: string, options?: CallOptions): Promise<Room> {
    return this.#join({ kind: 'room', channel, roomId }, options) as Promise<Room>;
  }

  /**
   * Closes the connection. Every membership ends as `left` (no `lost`
   * events), every waiting or unacknowledged call rejects with UNAVAILABLE,
   * and every later call too.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session++;
    this.#connectRetry.cancel();
    const closed = new RealtimeError(ErrorCode.UNAVAILABLE, 'the client was closed');
    for (const membership of [...this.#memberships.values()]) this.#end(membership, 'left', closed);
    this.#gate.fail(closed);
    this.#renewal?.stop();
    this.#socket.disconnect();
  }

  #timeoutOf(options: CallOptions | undefined): Deadline {
    return new Deadline(options?.timeoutMs ?? this.#options.ackTimeoutMs);
  }

  #handleOf(membership: Membership): ChannelHandle | RoomHandle {
    let handle = this.#handles.get(membership);
    if (handle === undefined) {
      handle =
        membership.address.kind === 'channel'
          ? new ChannelHandle(membership, this.#operations)
          : new RoomHandle(membership, this.#operations);
      this.#handles.set(membership, handle);
    }
    return handle;
  }

  async #join(address: TopicAddress, options: CallOptions | undefined): Promise<ChannelHandle | RoomHandle> {
    // Refused ids reject here, with the code the server would answer.
    this.#factory.check(address);
    const deadline = this.#timeoutOf(options);
    const key = keyOf(address);
    return this.#serializer.run(key, async () => {
      const existing = this.#memberships.get(key);
      if (existing !== undefined && existing.active) return this.#handleOf(existing);
      const membership = new Membership(address);
      this.#memberships.set(key, membership);
      try {
        for (;;) {
          await this.#gate.wait(() => this.#socket.connected, deadline);
          try {
            const ack = await this.#call(joinEventOf(address), this.#factory.control(address, this.#requireId()), deadline.remaining());
            membership.state = 'joined';
            membership.onlineUsers = ack.onlineUsers;
            membership.releaseHeld();
            return this.#handleOf(membership);
          } catch (err) {
            // Lost mid-join: the old connection's memberships died with it; join on the next one.
            if (isRealtimeError(err) && err.code === ErrorCode.UNAVAILABLE && !this.#closed && this.#options.reconnection) continue;
            throw err;
          }
        }
      } catch (err) {
        const error = isRealtimeError(err) ? err : new RealtimeError(ErrorCode.INTERNAL, String(err), { cause: err });
        if (error.code === ErrorCode.TIMEOUT) this.#undoUnacknowledgedJoin(address);
        if (this.#memberships.get(key) === membership) this.#memberships.delete(key);
        membership.state = 'left';
        throw error;
      }
    });
  }

  /**
   * A join that timed out may still be applied by the server later: a leave
   * sent after it, on the same connection, is applied after it, so a join
   * that rejected never leaves the connection in the topic.
   */
  #undoUnacknowledgedJoin(address: TopicAddress): void {
    const id = this.#socket.id;
    if (!this.#socket.connected || id === undefined) return;
    this.#socket.emit(leaveEventOf(address), this.#factory.control(address, id));
  }

  #leave(membership: Membership, options: CallOptions | undefined): Promise<number | undefined> {
    const deadline = this.#timeoutOf(options);
    return this.#serializer.run(keyOf(membership.address), async () => {
      if (!membership.active) return undefined;
      const left = new RealtimeError(ErrorCode.NOT_A_MEMBER, 'left');
      // Disconnected: the server ended the old connection's memberships with it.
      if (!this.#socket.connected || membership.state !== 'joined') {
        this.#end(membership, 'left', left);
        return undefined;
      }
      try {
        const ack = await this.#call(
          leaveEventOf(membership.address),
          this.#factory.control(membership.address, this.#requireId()),
          deadline.remaining(),
        );
        this.#end(membership, 'left', left);
        return ack.onlineUsers;
      } catch (err) {
        if (!isRealtimeError(err)) throw err;
        // Out either way: the server had no such membership, or the connection (and its memberships) ended.
        if (err.code === ErrorCode.NOT_A_MEMBER || err.code === ErrorCode.UNAVAILABLE) {
          this.#end(membership, 'left', left);
          return undefined;
        }
        // The leave is on its way and applied in order, or the connection ends: out either way, but unconfirmed.
        if (err.code === ErrorCode.TIMEOUT) this.#end(membership, 'left', left);
        throw err;
      }
    });
  }

  async #send(membership: Membership, text: string, options: CallOptions | undefined): Promise<void> {
    if (this.#closed) throw new RealtimeError(ErrorCode.UNAVAILABLE, 'the client was closed');
    const { address } = membership;
    if (!membership.active) {
      throw new RealtimeError(ErrorCode.NOT_A_MEMBER, `this client ${membership.state === 'lost' ? 'lost' : 'left'} ${describe(address)}`);
    }
    // Too large or malformed: refused before anything is sent, with the server's code.
    this.#factory.message(address, text, this.#socket.id ?? 'unconnected');
    const deadline = this.#timeoutOf(options);
    const emit = async (): Promise<void> => {
      await this.#call(messageEventOf(address), this.#factory.message(address, text, this.#requireId()), deadline.remaining());
    };
    if (membership.state === 'joined' && this.#socket.connected && membership.queue.length === 0) return emit();
    // Waits, in call order, for the topic to be joined again on a new connection.
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = membership.queue.indexOf(queued);
        if (at !== -1) membership.queue.splice(at, 1);
        reject(new RealtimeError(ErrorCode.TIMEOUT, `${describe(address)} was not joined again within ${deadline.timeoutMs} ms: not sent`));
      }, deadline.remaining());
      const queued = {
        send: () => {
          clearTimeout(timer);
          void emit().then(resolve, reject);
        },
        reject: (error: RealtimeError) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      membership.queue.push(queued);
    });
  }

  #call(event: string, payload: object, timeoutMs: number) {
    return callWithAck(this.#socket, event, payload, timeoutMs);
  }

  #requireId(): string {
    const id = this.#socket.id;
    if (id === undefined) throw new RealtimeError(ErrorCode.UNAVAILABLE, 'not connected');
    return id;
  }

  /**
   * Ends a membership for good. `lost` is announced; `left` is what the
   * caller asked for. Queued sends reject with NOT_A_MEMBER (with UNAVAILABLE
   * when the client was closed).
   */
  #end(membership: Membership, state: 'left' | 'lost', reason: RealtimeError): void {
    if (!membership.active) return;
    membership.state = state;
    const key = keyOf(membership.address);
    if (this.#memberships.get(key) === membership) this.#memberships.delete(key);
    membership.rejectQueue(
      this.#closed
        ? reason
        : new RealtimeError(ErrorCode.NOT_A_MEMBER, `not sent: this client ${state} ${describe(membership.address)} (${reason.message})`, {
            cause: reason,
          }),
    );
    if (state === 'lost') {
      membership.events.emit('lost', reason);
      this.#events.emit('lost', membership.info(), reason);
    }
  }

  #onConnect(): void {
    const session = ++this.#session;
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#connectRetry.reset();
    this.#events.emit('connect');
    this.#gate.open();
    if (reconnected && this.#socket.recovered) this.#keepAll();
    else if (reconnected) void this.#rejoinAll(session);
  }

  /** The server recovered the connection: every membership is still held there, and what it missed was replayed. */
  #keepAll(): void {
    const kept = [...this.#memberships.values()].filter((m) => m.state === 'restoring');
    for (const membership of kept) membership.state = 'joined';
    this.#events.emit('rejoin', { recovered: true, rejoined: kept.map((m) => m.info()), lost: [] });
  }

  #onDisconnect(reason: string): void {
    this.#session++;
    // The next connection's handshake asks getToken() again.
    this.#renewal?.stop();
    for (const membership of this.#memberships.values()) if (membership.state === 'joined') membership.state = 'restoring';
    if (this.#closed) return;
    this.#events.emit('disconnect', reason);
    if (!this.#options.reconnection) {
      this.#giveUp(new RealtimeError(ErrorCode.UNAVAILABLE, `the connection was lost (${reason}) and reconnection is off`));
    } else if (reason === 'io server disconnect') {
      const close = this.#serverClose;
      // A terminal server-close (retry: false) is final: every membership is lost with its code.
      if (close !== undefined && !close.retry) this.#giveUp(new RealtimeError(close.code, close.message));
      // socket.io-client reconnects by itself after anything but a server-side disconnect.
      else this.#socket.connect();
    }
    this.#serverClose = undefined;
  }

  #onConnectError(err: unknown): void {
    if (this.#closed) return;
    const error = errorFromConnectError(err);
    this.#events.emit('connect_error', error);
    // Refused by the server (not a network failure): socket.io-client does not try again.
    if (this.#socket.active) return;
    // A refusal that may pass later (CONNECTION_LIMIT: a slot frees when another connection of the user closes)
    // is tried again with backoff, calls waiting meanwhile within their timeouts; any other is final.
    if (!error.retryable || !this.#options.reconnection) return this.#giveUp(error);
    this.#connectRetry.schedule(() => {
      if (!this.#closed) this.#socket.connect();
    });
  }

  /** No connection will come again: every membership is lost, every waiting call rejects. */
  #giveUp(error: RealtimeError): void {
    this.#gate.fail(error);
    // A first join in flight is not a membership yet: its own promise rejects.
    for (const membership of [...this.#memberships.values()]) if (membership.state !== 'joining') this.#end(membership, 'lost', error);
  }

  /** Joins again every membership the lost connection held, then reports; stops if the connection drops again. */
  async #rejoinAll(session: number): Promise<void> {
    const restoring = [...this.#memberships.values()].filter((m) => m.state === 'restoring');
    const current = (): boolean => this.#session === session && !this.#closed;
    const outcomes = await Promise.all(
      restoring.map((membership): Promise<RejoinOutcome> =>
        this.#serializer.run(keyOf(membership.address), () =>
          rejoinMembership(membership, {
            current,
            join: () =>
              this.#call(
                joinEventOf(membership.address),
                this.#factory.control(membership.address, this.#requireId()),
                this.#options.ackTimeoutMs,
              ),
            undo: () => this.#undoUnacknowledgedJoin(membership.address),
            lose: (error) => this.#end(membership, 'lost', error),
          }),
        ),
      ),
    );
    if (!current()) return;
    const report: RejoinReport = { recovered: false, rejoined: [], lost: [] };
    for (const outcome of outcomes) {
      if (outcome.kind === 'rejoined') report.rejoined.push(outcome.membership);
      else if (outcome.kind === 'lost') report.lost.push({ membership: outcome.membership, error: outcome.error });
    }
    this.#events.emit('rejoin', report);
  }
}

function describe(address: TopicAddress): string {
  return address.kind === 'channel' ? `channel "${address.channel}"` : `room "${address.roomId}" of channel "${address.channel}"`;
}

/** Creates a client and starts connecting to `url`. */
export function createRealtimeClient(url: string, options?: RealtimeClientOptions): RealtimeClient {
  return new RealtimeClient(url, options);
}
