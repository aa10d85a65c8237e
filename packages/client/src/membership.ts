import type { OnlineUsersEnvelope, RelayedEnvelope, TopicEventRole } from '@realtime/protocol';
import { TypedEmitter } from './typed-emitter.js';
import type { RealtimeError } from './realtime-error.js';
import type { TopicAddress } from './topic-address.js';

/**
 * - `joining`: the first join is in flight (no handle given out yet);
 * - `joined`: a member on the current connection;
 * - `restoring`: the connection was lost; the SDK joins again on the next one;
 * - `left`: left by `leave()` or `close()`; final;
 * - `lost`: a rejoin failed for good, or the connection is gone for good; final, always announced by a `lost` event.
 */
export type MembershipState = 'joining' | 'joined' | 'restoring' | 'left' | 'lost';

/** Events of a channel or room handle. */
export interface TopicEvents {
  /** A channel message or `notify-room`, from any member, this client's own included. */
  message: (envelope: RelayedEnvelope) => void;
  /** A member joined (this client's own joins and rejoins included). */
  join: (envelope: RelayedEnvelope) => void;
  /** A member left, or its connection or node died. */
  leave: (envelope: RelayedEnvelope) => void;
  /** The topic's cluster-wide count changed. */
  'online-users': (onlineUsers: number, envelope: OnlineUsersEnvelope) => void;
  /** Joined again after a reconnect, with the count then. */
  rejoin: (onlineUsers: number | undefined) => void;
  /** The membership is gone and will not be restored. */
  lost: (error: RealtimeError) => void;
}

/** A snapshot of one membership. */
export interface MembershipInfo {
  kind: TopicAddress['kind'];
  channel: string;
  roomId: string | null;
  state: MembershipState;
  onlineUsers: number | undefined;
}

/** One queued send: sent once the membership is restored, or rejected. */
export interface QueuedSend {
  send(): void;
  reject(error: RealtimeError): void;
}

/**
 * The SDK's state of one channel or room. Events received before the
 * first join's promise resolved are held and delivered on a later turn,
 * so listeners attached right after `await joinChannel(…)` miss nothing.
 */
export class Membership {
  state: MembershipState = 'joining';
  onlineUsers: number | undefined;
  readonly events = new TypedEmitter<TopicEvents>();
  /** Sends waiting for the membership to be restored, in call order. */
  readonly queue: QueuedSend[] = [];
  #held: (() => void)[] | undefined = [];

  constructor(readonly address: TopicAddress) {}

  get active(): boolean {
    return this.state === 'joining' || this.state === 'joined' || this.state === 'restoring';
  }

  info(): MembershipInfo {
    const { kind, channel, roomId } = this.address;
    return { kind, channel, roomId, state: this.state, onlineUsers: this.onlineUsers };
  }

  /** A server → client event for this topic, from the client's router. */
  deliver(role: TopicEventRole, envelope: RelayedEnvelope | OnlineUsersEnvelope): void {
    const emit = (): void => {
      if (!this.active) return;
      if (role === 'online-users') {
        const counted = envelope as OnlineUsersEnvelope;
        this.onlineUsers = counted.data.onlineUsers;
        this.events.emit('online-users', counted.data.onlineUsers, counted);
      } else {
        this.events.emit(role, envelope);
      }
    };
    if (this.#held === undefined) emit();
    else this.#held.push(emit);
  }

  /** Delivers held events on the next turn, after the join's promise has resolved and its continuation ran. */
  releaseHeld(): void {
    setTimeout(() => {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const emit of held) emit();
    }, 0);
  }

  /** Sends the queued messages, in order. */
  flushQueue(): void {
    for (const queued of this.queue.splice(0)) queued.send();
  }

  rejectQueue(error: RealtimeError): void {
    for (const queued of this.queue.splice(0)) queued.reject(error);
  }
}
