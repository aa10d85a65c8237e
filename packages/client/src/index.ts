export { createRealtimeClient, RealtimeClient, type RealtimeClientEvents, type RejoinReport } from './realtime-client.js';
export type { Channel, Room } from './topic-handles.js';
export type { MembershipInfo, MembershipState, TopicEvents } from './membership.js';
export type { AuthOption, CallOptions, RealtimeClientOptions, SourceInfo, Transport } from './options.js';
export { RealtimeError, isRealtimeError } from './realtime-error.js';
export {
  ErrorCode,
  ERROR_REGISTRY,
  ERROR_CODES,
  type OnlineUsersEnvelope,
  type RelayedEnvelope,
  type EnvelopeSource,
  type ErrorSpec,
} from '@realtime/protocol';
