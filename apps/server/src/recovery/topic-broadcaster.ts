import type { RelayedEnvelope } from '@realtime/protocol';
import type { RealtimeServer } from '../socket-types.js';

/**
 * The one step that sends an event to a topic's members on every node: the
 * channel service's last step, shared by member messages, presence events
 * and the HTTP API. Two implementations: the Socket.IO adapter's broadcast
 * (recovery off), and a history append that stores and publishes in one
 * Redis call (`history-broadcaster.ts`).
 */
export interface TopicBroadcaster {
  /**
   * Member and presence traffic. Never rejects: while Redis cannot take the
   * event, it still reaches this node's members (as today's adapter does).
   * `undefined` when the event was handed over synchronously; otherwise
   * resolves once it is stored (or, Redis failing, delivered here only).
   */
  broadcast(topic: string, event: string, envelope: RelayedEnvelope): Promise<void> | undefined;
  /** HTTP API traffic: all or nothing. Rejects, having delivered nothing, when Redis could not take it. */
  publish(topic: string, event: string, envelope: RelayedEnvelope): Promise<void>;
}

/** Recovery off: the adapter encodes once per node and publishes once (one Redis command per message). */
export function adapterBroadcaster(io: RealtimeServer): TopicBroadcaster {
  return {
    broadcast(topic, event, envelope) {
      io.to(topic).emit(event, envelope);
      return undefined;
    },
    publish(topic, event, envelope) {
      io.to(topic).emit(event, envelope);
      return Promise.resolve();
    },
  };
}
