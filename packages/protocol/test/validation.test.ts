import { describe, expect, it } from 'vitest';
import { DEFAULT_VALIDATION_LIMITS, ErrorCode, validateEnvelope } from '../src/index.js';

const MESSAGE = { roomId: false, message: true };
const ROOM_CONTROL = { roomId: true, message: false };

function message(text: string, maxMessageBytes = DEFAULT_VALIDATION_LIMITS.maxMessageBytes) {
  return validateEnvelope({ data: { message: text, roomId: null, roomChannel: 'c' } }, MESSAGE, {
    ...DEFAULT_VALIDATION_LIMITS,
    maxMessageBytes,
  });
}

describe('validateEnvelope', () => {
  it('data.message is limited in UTF-8 bytes: 64 KiB passes, one byte more is PAYLOAD_TOO_LARGE', () => {
    expect(message('a'.repeat(65_536)).ok).toBe(true);
    expect(message('a'.repeat(65_537))).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
    // 21 846 × 3 bytes = 65 538: over, though far fewer UTF-16 units than the limit.
    expect(message('€'.repeat(21_846))).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
    expect(message('€'.repeat(21_845)).ok).toBe(true);
    expect(message('😀'.repeat(16_384)).ok).toBe(true);
    expect(message('😀'.repeat(16_384) + 'a')).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
  });

  it('honours a configured limit, including 0', () => {
    expect(message('', 0).ok).toBe(true);
    expect(message('a', 0)).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
    expect(message('éé', 4).ok).toBe(true);
    expect(message('éé', 3)).toMatchObject({ ok: false, error: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
  });

  it('returns only the contract’s fields', () => {
    const result = validateEnvelope(
      {
        data: { message: 'x', roomId: 'r', roomChannel: 'c', extra: 1 },
        time: 't',
        clientId: 'id',
        source: { userName: 'u' },
        other: true,
      },
      ROOM_CONTROL,
    );
    expect(result).toEqual({
      ok: true,
      envelope: { data: { message: 'x', roomId: 'r', roomChannel: 'c' }, time: 't', clientId: 'id', source: { userName: 'u' } },
    });
  });

  it('never throws, whatever it is given', () => {
    const hostile: unknown[] = [
      undefined,
      null,
      0,
      'x',
      [],
      { data: [] },
      { data: { roomChannel: 1 } },
      { data: { roomChannel: 'join-room' } },
    ];
    hostile.push(Object.create(null));
    hostile.push({ data: { roomChannel: 'c', message: 'm' }, source: { k: 1 } });
    for (const payload of hostile) {
      const result = validateEnvelope(payload, MESSAGE);
      expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PAYLOAD } });
    }
  });
});
