import type { RelayedEnvelope } from '@realtime/protocol';
import type { Metrics } from './metrics.js';
import type { NodePresence } from './node-presence.js';
import type { RealtimeSocket } from './socket-types.js';

export interface LeaveTopicDeps {
  presence: NodePresence;
  metrics: Metrics;
  /** Told once the connection is out of the topic (its live session record follows). */
  onLeft?: (socket: RealtimeSocket) => void;
}

/**
 * Takes a connection out of one channel or room it is in: the one leave
 * step, shared by the `leave-*` handler and by a refresh that narrows the
 * grants (a first piece of the architecture's channel service). Guarantees:
 * the connection is out of the Socket.IO room before anything is awaited
 * (it receives nothing more of the topic, and its membership count drops at
 * once); the remaining members on every node receive `leave-*` with
 * `envelope`, and the count is announced again; resolves the cluster-wide
 * count after the leave, or undefined when the store failed (the leave
 * still holds locally and the store is resynced). Never rejects on a store
 * failure. The caller checks membership first.
 */
export function topicLeaver({ presence, metrics, onLeft }: LeaveTopicDeps) {
  return (socket: RealtimeSocket, topic: string, kind: 'channel' | 'room', envelope: RelayedEnvelope): Promise<number | undefined> => {
    // Left locally first: the remaining members are told, the leaver has its ack.
    void socket.leave(topic);
    socket.data.joinedAt.delete(topic);
    socket.data.tracks.delete(topic);
    onLeft?.(socket);
    metrics.leaves.inc({ kind });
    return presence.leave(socket.id, topic, envelope);
  };
}

export type LeaveTopic = ReturnType<typeof topicLeaver>;
