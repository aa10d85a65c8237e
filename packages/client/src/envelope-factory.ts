import {
  validateEnvelope,
  type ClientEnvelope,
  type EnvelopeRequirements,
  type EnvelopeSource,
  type ValidationLimits,
} from '@realtime/protocol';
import type { SourceInfo } from './options.js';
import { RealtimeError } from './realtime-error.js';
import type { TopicAddress } from './topic-address.js';

const CONTROL: { channel: EnvelopeRequirements; room: EnvelopeRequirements } = {
  channel: { roomId: false, message: false },
  room: { roomId: true, message: false },
};
const MESSAGE: { channel: EnvelopeRequirements; room: EnvelopeRequirements } = {
  channel: { roomId: false, message: true },
  room: { roomId: true, message: true },
};

/**
 * Builds the guide's envelope for every event the SDK sends and checks it
 * with the protocol's own validation and limits, so what the SDK sends is
 * never refused as malformed or too large by a server with those limits
 * (a refusal here rejects with the code the server would have used).
 */
export class EnvelopeFactory {
  readonly #source: SourceInfo;
  readonly #limits: ValidationLimits;

  constructor(source: SourceInfo, limits: ValidationLimits) {
    this.#source = source;
    this.#limits = limits;
  }

  /** A `join-*` / `leave-*` envelope. */
  control(topic: TopicAddress, socketId: string): ClientEnvelope {
    return this.#build(topic, '', socketId, CONTROL[topic.kind]);
  }

  /** A channel message or `notify-room` envelope. */
  message(topic: TopicAddress, text: string, socketId: string): ClientEnvelope {
    return this.#build(topic, text, socketId, MESSAGE[topic.kind]);
  }

  /** Throws the RealtimeError the server would answer with when `topic` or the source is unusable. */
  check(topic: TopicAddress): void {
    this.control(topic, 'unconnected');
  }

  #build(topic: TopicAddress, message: unknown, socketId: string, requires: EnvelopeRequirements): ClientEnvelope {
    const source: EnvelopeSource = {};
    for (const [key, value] of Object.entries(this.#source)) if (value !== undefined) source[key] = value;
    source.clientId = socketId;
    source.channel = topic.channel;
    const candidate = {
      data: { message, roomId: topic.roomId, roomChannel: topic.channel },
      time: new Date().toISOString(),
      clientId: socketId,
      source,
    };
    const result = validateEnvelope(candidate, requires, this.#limits);
    if (!result.ok) throw new RealtimeError(result.error.code, result.error.message);
    return result.envelope;
  }
}
