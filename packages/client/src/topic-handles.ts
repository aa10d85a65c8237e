import type { CallOptions } from './options.js';
import type { Membership, MembershipState, TopicEvents } from './membership.js';

/** What a handle asks of its client. */
export interface TopicOperations {
  send(membership: Membership, text: string, options?: CallOptions): Promise<void>;
  leave(membership: Membership, options?: CallOptions): Promise<number | undefined>;
  joinRoom(channel: string, roomId: string, options?: CallOptions): Promise<Room>;
}

interface TopicHandle {
  readonly channel: string;
  /** `joined`, `restoring` while the SDK rejoins after a reconnect, or the final `left` / `lost`. */
  readonly state: Exclude<MembershipState, 'joining'>;
  /** The cluster-wide count: from the join's ack, then every count announcement and rejoin. Undefined while the server's store was unreachable. */
  readonly onlineUsers: number | undefined;
  on<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): this;
  off<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): this;
  once<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): this;
  /**
   * Leaves; resolves with the count after the leave (undefined when the
   * connection was down: its memberships ended with it). Afterwards the
   * handle delivers nothing and is never rejoined. Rejects with TIMEOUT when
   * no ack came: the leave still takes effect (the SDK stops delivering and
   * will not rejoin).
   */
  leave(options?: CallOptions): Promise<number | undefined>;
}

/** A joined channel. */
export interface Channel extends TopicHandle {
  readonly kind: 'channel';
  readonly roomId: null;
  /**
   * Sends a message to every member on every node, this client included:
   * emitted under the channel id with the guide's envelope. Resolves on the
   * server's `{ ok: true }`. While the SDK is rejoining, it waits (in call
   * order) until the channel is joined again or the timeout passes (then
   * TIMEOUT, not sent). UNAVAILABLE: the connection was lost after sending,
   * the message may or may not have been delivered (it is not resent).
   */
  send(text: string, options?: CallOptions): Promise<void>;
  /** Joins room `roomId` of this channel (the same as `rt.joinRoom(channel, roomId)`). */
  joinRoom(roomId: string, options?: CallOptions): Promise<Room>;
}

/** A joined room of a channel. */
export interface Room extends TopicHandle {
  readonly kind: 'room';
  readonly roomId: string;
  /** Sends `notify-room` to every member of the room on every node, this client included; as `Channel.send` otherwise. */
  notify(text: string, options?: CallOptions): Promise<void>;
}

abstract class BaseHandle {
  constructor(
    protected readonly membership: Membership,
    protected readonly operations: TopicOperations,
  ) {}

  get channel(): string {
    return this.membership.address.channel;
  }

  get state(): Exclude<MembershipState, 'joining'> {
    const state = this.membership.state;
    return state === 'joining' ? 'joined' : state;
  }

  get onlineUsers(): number | undefined {
    return this.membership.onlineUsers;
  }

  on<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): this {
    this.membership.events.on(event, listener);
    return this;
  }

  off<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): this {
    this.membership.events.off(event, listener);
    return this;
  }

  once<E extends keyof TopicEvents>(event: E, listener: TopicEvents[E]): this {
    this.membership.events.once(event, listener);
    return this;
  }

  leave(options?: CallOptions): Promise<number | undefined> {
    return this.operations.leave(this.membership, options);
  }
}

export class ChannelHandle extends BaseHandle implements Channel {
  readonly kind = 'channel';
  readonly roomId = null;

  send(text: string, options?: CallOptions): Promise<void> {
    return this.operations.send(this.membership, text, options);
  }

  joinRoom(roomId: string, options?: CallOptions): Promise<Room> {
    return this.operations.joinRoom(this.channel, roomId, options);
  }
}

export class RoomHandle extends BaseHandle implements Room {
  readonly kind = 'room';

  get roomId(): string {
    return this.membership.address.roomId ?? '';
  }

  notify(text: string, options?: CallOptions): Promise<void> {
    return this.operations.send(this.membership, text, options);
  }
}
