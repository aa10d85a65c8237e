import {
  ErrorCode,
  ProtocolEvent,
  checkId,
  validateEnvelope,
  type ProtocolError,
  type RelayedEnvelope,
  type ValidationLimits,
} from '@realtime/protocol';
import type { Metrics } from '../metrics.js';
import type { TopicBroadcaster } from '../recovery/topic-broadcaster.js';
import { channelTopic, roomTopic } from '../topics.js';
import type { IdempotencyStore } from './idempotency.js';

/** One message to publish through the HTTP API: to a channel, or with `roomId` to that room. */
export interface PublishItem {
  channel: string;
  roomId?: string;
  message: string;
  source?: Record<string, string>;
  idempotencyKey?: string;
}

export type PublishResult = { ok: true; duplicate: boolean } | { ok: false; error: ProtocolError };

export interface ApiPublisherOptions {
  broadcaster: TopicBroadcaster;
  limits: ValidationLimits;
  idempotency: IdempotencyStore;
  /** False while cross-node publishes would be dropped (Redis down): the API then delivers nothing and says 503. */
  brokerAvailable(): boolean;
  metrics: Metrics;
}

const fail = (code: ErrorCode, message: string): PublishResult => ({ ok: false, error: { code, message } });

/**
 * Publishing for a backend: the same validation, limits and envelope as a
 * member's message, stamped with the API key as sender (`clientId` and
 * `source.clientId` = `api:<keyName>`, `source.platform` = `server`), one
 * Redis call per message (the adapter's publish, or with recovery on the
 * history append that stores and publishes). Delivery is all or nothing per message: when
 * Redis is down nothing is sent (not even to this node's members) and the
 * caller gets UNAVAILABLE to retry.
 */
export function apiPublisher(options: ApiPublisherOptions): (keyName: string, item: PublishItem) => Promise<PublishResult> {
  const { broadcaster, limits, idempotency, metrics } = options;
  const channelMessages = metrics.messagesIn.labels('channel');
  const roomMessages = metrics.messagesIn.labels('room');
  return async (keyName, item) => {
    const room = item.roomId !== undefined;
    const result = validateEnvelope(
      { data: { roomChannel: item.channel, roomId: item.roomId ?? null, message: item.message }, source: item.source ?? {} },
      { roomId: room, message: true },
      limits,
    );
    if (!result.ok) return { ok: false, error: result.error };
    if (item.idempotencyKey !== undefined) {
      const problem = checkId('idempotencyKey', item.idempotencyKey, limits.maxIdLength);
      if (problem !== undefined) return fail(ErrorCode.INVALID_PAYLOAD, problem);
    }
    if (!options.brokerAvailable()) return fail(ErrorCode.UNAVAILABLE, 'Redis is unreachable: nothing was delivered; retry later');
    if (item.idempotencyKey !== undefined) {
      let first: boolean;
      try {
        first = await idempotency.claim(keyName, item.idempotencyKey);
      } catch {
        return fail(ErrorCode.UNAVAILABLE, 'Redis is unreachable: nothing was delivered; retry later');
      }
      if (!first) return { ok: true, duplicate: true };
      // Checked again after the round trip: an outage meanwhile gives the key back for the retry.
      if (!options.brokerAvailable()) {
        await idempotency.release(keyName, item.idempotencyKey).catch(() => undefined);
        return fail(ErrorCode.UNAVAILABLE, 'Redis is unreachable: nothing was delivered; retry later');
      }
    }
    const data = result.envelope.data;
    const sender = `api:${keyName}`;
    const serverTime = new Date().toISOString();
    const envelope: RelayedEnvelope = {
      data,
      time: serverTime,
      clientId: sender,
      source: { ...result.envelope.source, clientId: sender, platform: 'server' },
      serverTime,
    };
    try {
      if (data.roomId === null) await broadcaster.publish(channelTopic(data.roomChannel), data.roomChannel, envelope);
      else await broadcaster.publish(roomTopic(data.roomChannel, data.roomId), ProtocolEvent.NotifyRoom, envelope);
    } catch {
      // Only a stored history can fail here (recovery on): nothing was delivered, so the key goes back for the retry.
      if (item.idempotencyKey !== undefined) await idempotency.release(keyName, item.idempotencyKey).catch(() => undefined);
      return fail(ErrorCode.UNAVAILABLE, 'Redis could not store the message: nothing was delivered; retry later');
    }
    (room ? roomMessages : channelMessages).inc();
    return { ok: true, duplicate: false };
  };
}
