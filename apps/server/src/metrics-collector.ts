import type { Server } from 'socket.io';
import { ErrorCode, ProtocolEvent } from '@realtime/protocol';
import type { Metrics, OutboundKind } from './metrics.js';
import { parseTopic } from './topics.js';

/** The parts of socket.io-adapter 2.5's in-memory Adapter this file hooks. */
interface HookableAdapter {
  rooms: Map<string, Set<string>>;
  _encode(packet: { type: number; data?: unknown[] }, packetOpts: unknown): unknown;
  apply(opts: { rooms: Set<string>; except?: Set<string> }, callback: (socket: unknown) => void): void;
}

const PACKET_EVENT = 2;
const PACKET_BINARY_EVENT = 5;

const PRESENCE_EVENTS: ReadonlySet<string> = new Set([
  ProtocolEvent.JoinChannel,
  ProtocolEvent.LeaveChannel,
  ProtocolEvent.OnlineUsers,
  ProtocolEvent.JoinRoom,
  ProtocolEvent.LeaveRoom,
  ProtocolEvent.RoomOnlineUsers,
]);

/** What a server-emitted event is: everything that is not a protocol event is a channel message. */
function outboundKind(event: unknown): OutboundKind {
  if (event === ProtocolEvent.NotifyRoom) return 'room';
  return typeof event === 'string' && PRESENCE_EVENTS.has(event) ? 'presence' : 'channel';
}

/**
 * Connects the node's metrics to the live Socket.IO server, without touching
 * the event handlers:
 * - scrape-time gauges (connections, channels, rooms, memberships) read from
 *   the default namespace and its adapter's rooms when Prometheus scrapes;
 * - `realtime_messages_out_total` counts deliveries to this node's clients.
 *   Every broadcast a node delivers, whether its own or one received from
 *   Redis, goes through the in-memory Adapter's `broadcast`, which calls
 *   `this._encode` once and then `this.apply` for the recipients: the first
 *   hook notes the kind, the second adds the number of recipients (for one
 *   room without exceptions, the hot case, that is the room's size: O(1)).
 * - labelled counters start at 0 for every known label value, so rates work
 *   from the first scrape.
 */
export function instrumentNode(io: Server, metrics: Metrics): void {
  const nsp = io.of('/');
  metrics.bindNodeState({
    connectedSockets: () => nsp.sockets.size,
    topics: () => {
      const counts = { channels: 0, rooms: 0, channelMemberships: 0, roomMemberships: 0 };
      for (const [name, members] of nsp.adapter.rooms) {
        const topic = parseTopic(name);
        if (topic === undefined) continue;
        if (topic.kind === 'channel') {
          counts.channels++;
          counts.channelMemberships += members.size;
        } else {
          counts.rooms++;
          counts.roomMemberships += members.size;
        }
      }
      return counts;
    },
  });

  const adapter = nsp.adapter as unknown as HookableAdapter;
  const tally = metrics.messagesOutTally;
  let pendingKind: OutboundKind | undefined;
  // Bound copies of the originals: the wrappers below call them with the adapter as `this`.
  const encode = adapter._encode.bind(adapter);
  adapter._encode = function (packet, packetOpts) {
    const type = packet.type;
    pendingKind = type === PACKET_EVENT || type === PACKET_BINARY_EVENT ? outboundKind(packet.data?.[0]) : undefined;
    return encode(packet, packetOpts);
  };
  const apply = adapter.apply.bind(adapter);
  adapter.apply = function (opts, callback) {
    const kind = pendingKind;
    pendingKind = undefined;
    // Not a broadcast (fetchSockets, socketsJoin, …): nothing is sent.
    if (kind === undefined) return apply(opts, callback);
    if (opts.rooms.size === 1 && (opts.except === undefined || opts.except.size === 0)) {
      const [room] = opts.rooms;
      tally[kind] += this.rooms.get(room as string)?.size ?? 0;
      return apply(opts, callback);
    }
    let recipients = 0;
    apply.call(this, opts, (socket) => {
      recipients++;
      callback(socket);
    });
    tally[kind] += recipients;
  };

  for (const kind of ['channel', 'room']) {
    metrics.joins.inc({ kind }, 0);
    metrics.leaves.inc({ kind }, 0);
    metrics.messagesIn.inc({ kind }, 0);
  }
  for (const code of Object.values(ErrorCode)) metrics.refusedEvents.inc({ code }, 0);
  for (const connection of ['commands', 'publisher', 'subscriber']) {
    metrics.redisErrors.inc({ connection }, 0);
    metrics.redisReconnects.inc({ connection }, 0);
  }
}
