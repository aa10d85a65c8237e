import { SERVER_EVENT_ROLES, type OnlineUsersEnvelope, type RelayedEnvelope, type ServerToClientEventName } from '@realtime/protocol';
import type { Membership } from './membership.js';
import { topicKey } from './topic-address.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isRoleEvent(event: string): event is ServerToClientEventName {
  return Object.hasOwn(SERVER_EVENT_ROLES, event);
}

/**
 * Routes one server → client event to the membership it is about, by the
 * protocol's topic → event mapping: a named event by its kind and
 * `data.roomChannel` / `data.roomId`, any other as a message of the channel
 * it is named after. Events of topics the client is not in, and payloads
 * that are not envelopes, are dropped.
 */
export function routeServerEvent(event: unknown, payload: unknown, membershipOf: (key: string) => Membership | undefined): void {
  if (typeof event !== 'string' || !isRecord(payload) || !isRecord(payload.data)) return;
  const { roomChannel, roomId } = payload.data;
  if (typeof roomChannel !== 'string') return;
  if (isRoleEvent(event)) {
    const { kind, role } = SERVER_EVENT_ROLES[event];
    if (kind === 'room' && typeof roomId !== 'string') return;
    if (role === 'online-users' && typeof payload.data.onlineUsers !== 'number') return;
    const membership = membershipOf(topicKey(kind, roomChannel, kind === 'room' ? (roomId as string) : null));
    membership?.deliver(role, payload as unknown as RelayedEnvelope | OnlineUsersEnvelope);
    return;
  }
  if (roomChannel !== event) return;
  membershipOf(topicKey('channel', event, null))?.deliver('message', payload as unknown as RelayedEnvelope);
}
