import { ErrorCode, type ProtocolError } from './error-codes.js';
import type { ClientEnvelope, EnvelopeSource } from './envelope.js';
import { RESERVED_EVENT_NAMES } from './event-names.js';

/** Limits applied while validating; the server passes its configured values. */
export interface ValidationLimits {
  /** Largest `data.message` in UTF-8 bytes. Default 65 536 (64 KiB). */
  maxMessageBytes: number;
  /** Longest channel or room id in characters. Default 256. */
  maxIdLength: number;
  /** Longest `time`, `clientId` or `source.*` string in characters. Default 1 024. */
  maxMetadataLength: number;
  /** Most keys in `source`. Default 16. */
  maxSourceKeys: number;
}

export const DEFAULT_VALIDATION_LIMITS: Readonly<ValidationLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxIdLength: 256,
  maxMetadataLength: 1024,
  maxSourceKeys: 16,
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
  if (value.length === 0 || value.length > maxLength) {
    return `${field} must be 1-${maxLength} characters long`;
  }
  if (CONTROL_CHARACTERS.test(value)) return `${field} must not contain control characters`;
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
  if (value.length > maxLength) return `${field} must be at most ${maxLength} characters long`;
  return undefined;
}

function checkSource(value: unknown, limits: ValidationLimits): string | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return 'source must be an object of strings when present';
  const keys = Object.keys(value);
  if (keys.length > limits.maxSourceKeys) return `source must have at most ${limits.maxSourceKeys} keys`;
  for (const key of keys) {
    const problem = checkOptionalString(`source.${key}`, value[key], limits.maxMetadataLength);
    if (problem !== undefined) return problem;
    if (value[key] === undefined) return `source.${key} must be a string`;
  }
  return undefined;
}

/**
 * Validates an envelope received from the network. Never throws, whatever
 * `payload` is. The returned envelope is a fresh object holding only the
 * contract's fields, so nothing else a client wrote is ever relayed.
 *
 * Unicode note: `maxMessageBytes` counts UTF-8 bytes, ids count UTF-16 units.
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
    // Fast path: a string can't exceed N UTF-8 bytes while it has fewer than N/3 UTF-16 units.
    if (message.length * 3 > limits.maxMessageBytes && Buffer.byteLength(message, 'utf8') > limits.maxMessageBytes) {
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
