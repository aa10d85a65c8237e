import { ErrorCode, type ProtocolError } from './errors.js';
import type { ClientEnvelope, EnvelopeSource } from './envelope.js';
import { RESERVED_EVENT_NAMES } from './event-names.js';
import { codePointLength, fitsInUtf8Bytes, isWellFormedUnicode, utf8ByteLength } from './unicode.js';

/** Limits applied while validating; the server passes its configured values. */
export interface ValidationLimits {
  /** Largest `data.message` in UTF-8 bytes. Default 65 536 (64 KiB). */
  maxMessageBytes: number;
  /** Longest channel or room id in Unicode code points (an emoji is one). Default 256. */
  maxIdLength: number;
  /** Longest `time`, `clientId` or `source.*` value in code points. Default 1 024. */
  maxMetadataLength: number;
  /** Most keys in `source`. Default 16. */
  maxSourceKeys: number;
  /** Longest `source` key in code points. Default 64. */
  maxSourceKeyLength: number;
  /**
   * Largest `source` in UTF-8 bytes, its keys and values summed. It is
   * relayed with every message and stored with every membership, so it
   * bounds what one envelope can make the cluster carry. Default 4 096.
   */
  maxSourceBytes: number;
}

export const DEFAULT_VALIDATION_LIMITS: Readonly<ValidationLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxIdLength: 256,
  maxMetadataLength: 1024,
  maxSourceKeys: 16,
  maxSourceKeyLength: 64,
  maxSourceBytes: 4096,
});

/** Which fields an event requires beyond `data.roomChannel`. */
export interface EnvelopeRequirements {
  roomId: boolean;
  message: boolean;
}

export type ValidationResult = { ok: true; envelope: ClientEnvelope } | { ok: false; error: ProtocolError };

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(message: string): ValidationResult {
  return { ok: false, error: { code: ErrorCode.INVALID_PAYLOAD, message } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a channel or room id; returns a message naming the field when it is
 * unusable, undefined when it is fine.
 */
export function checkId(field: string, value: unknown, maxLength: number): string | undefined {
  if (typeof value !== 'string') return `${field} must be a string`;
  // Cheap bound first: more than 2 UTF-16 units per code point is impossible.
  if (value.length === 0 || value.length > 2 * maxLength || codePointLength(value, maxLength) > maxLength) {
    return `${field} must be 1-${maxLength} characters (code points) long`;
  }
  if (CONTROL_CHARACTERS.test(value)) return `${field} must not contain control characters`;
  if (!isWellFormedUnicode(value)) return `${field} must be well-formed Unicode (it has a lone surrogate)`;
  return undefined;
}

/** Channel ids additionally may not shadow protocol or Socket.IO event names. */
export function checkChannelId(field: string, value: unknown, maxLength: number): string | undefined {
  const problem = checkId(field, value, maxLength);
  if (problem !== undefined) return problem;
  if (RESERVED_EVENT_NAMES.has(value as string)) {
    return `${field} "${value as string}" is a reserved event name and cannot be a channel id`;
  }
  return undefined;
}

function checkOptionalString(field: string, value: unknown, maxLength: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return `${field} must be a string when present`;
  if (value.length > maxLength && (value.length > 2 * maxLength || codePointLength(value, maxLength) > maxLength)) {
    return `${field} must be at most ${maxLength} characters (code points) long`;
  }
  return undefined;
}

function checkSource(value: unknown, limits: ValidationLimits): string | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return 'source must be an object of strings when present';
  const keys = Object.keys(value);
  if (keys.length > limits.maxSourceKeys) return `source must have at most ${limits.maxSourceKeys} keys`;
  let bytes = 0;
  for (const key of keys) {
    if (
      key.length === 0 ||
      key.length > 2 * limits.maxSourceKeyLength ||
      codePointLength(key, limits.maxSourceKeyLength) > limits.maxSourceKeyLength
    ) {
      // The key itself is not quoted: it may be the oversized thing.
      return `source keys must be 1-${limits.maxSourceKeyLength} characters (code points) long`;
    }
    const problem = checkOptionalString(`source.${key}`, value[key], limits.maxMetadataLength);
    if (problem !== undefined) return problem;
    if (value[key] === undefined) return `source.${key} must be a string`;
    bytes += utf8ByteLength(key) + utf8ByteLength(value[key] as string);
  }
  if (bytes > limits.maxSourceBytes) return `source must be at most ${limits.maxSourceBytes} bytes (UTF-8, keys and values summed)`;
  return undefined;
}

/**
 * Validates an envelope received from the network. Never throws, whatever
 * `payload` is. The returned envelope is a fresh object holding only the
 * contract's fields, so nothing else a client wrote is ever relayed.
 *
 * Unicode: `maxMessageBytes` and `maxSourceBytes` count UTF-8 bytes; every
 * other length counts code points. Ids must be well-formed UTF-16.
 */
export function validateEnvelope(
  payload: unknown,
  requires: EnvelopeRequirements,
  limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS,
): ValidationResult {
  if (!isPlainObject(payload)) return invalid('payload must be an object with a data field');
  const data = payload.data;
  if (!isPlainObject(data)) return invalid('data must be an object');

  const channelProblem = checkChannelId('data.roomChannel', data.roomChannel, limits.maxIdLength);
  if (channelProblem !== undefined) return invalid(channelProblem);

  let roomId: string | null = null;
  if (requires.roomId) {
    const roomProblem = checkId('data.roomId', data.roomId, limits.maxIdLength);
    if (roomProblem !== undefined) return invalid(roomProblem);
    roomId = data.roomId as string;
  } else if (data.roomId !== undefined && data.roomId !== null && typeof data.roomId !== 'string') {
    return invalid('data.roomId must be a string or null when present');
  }

  let message = '';
  if (data.message === undefined) {
    if (requires.message) return invalid('data.message must be a string (it may be empty)');
  } else if (typeof data.message !== 'string') {
    return invalid('data.message must be a string');
  } else {
    message = data.message;
    if (!fitsInUtf8Bytes(message, limits.maxMessageBytes)) {
      return {
        ok: false,
        error: {
          code: ErrorCode.PAYLOAD_TOO_LARGE,
          message: `data.message must be at most ${limits.maxMessageBytes} bytes`,
        },
      };
    }
  }

  const timeProblem = checkOptionalString('time', payload.time, limits.maxMetadataLength);
  if (timeProblem !== undefined) return invalid(timeProblem);
  const clientIdProblem = checkOptionalString('clientId', payload.clientId, limits.maxMetadataLength);
  if (clientIdProblem !== undefined) return invalid(clientIdProblem);
  const sourceProblem = checkSource(payload.source, limits);
  if (sourceProblem !== undefined) return invalid(sourceProblem);

  const envelope: ClientEnvelope = {
    data: { message, roomId, roomChannel: data.roomChannel as string },
  };
  if (payload.time !== undefined) envelope.time = payload.time as string;
  if (payload.clientId !== undefined) envelope.clientId = payload.clientId as string;
  if (payload.source !== undefined) envelope.source = { ...(payload.source as EnvelopeSource) };
  return { ok: true, envelope };
}
