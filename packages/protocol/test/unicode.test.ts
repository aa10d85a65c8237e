import { describe, expect, it } from 'vitest';
import { codePointLength, fitsInUtf8Bytes, isWellFormedUnicode, utf8ByteLength } from '../src/index.js';

/** Strings across every UTF-8 width, lone surrogates (encoded as U+FFFD) and the scratch-buffer threshold. */
const SAMPLES = [
  '',
  'a',
  'John Doe',
  'é',
  '€',
  '😀',
  'Zoë Straße 😀 日本',
  'a\ud800',
  '\udc00b',
  '\ud800\ud800\udc00',
  'x'.repeat(16 * 1024),
  'x'.repeat(16 * 1024 + 1),
  '😀'.repeat(9000),
  '€'.repeat(70_000),
];

describe('UTF-8 measures, through TextEncoder', () => {
  it('utf8ByteLength is what Node’s Buffer counts, lone surrogates included (3 bytes, as U+FFFD)', () => {
    for (const s of SAMPLES) expect(utf8ByteLength(s), JSON.stringify(s.slice(0, 8))).toBe(Buffer.byteLength(s, 'utf8'));
  });

  it('fitsInUtf8Bytes agrees with utf8ByteLength at every limit around the string’s size', () => {
    for (const s of SAMPLES) {
      const bytes = utf8ByteLength(s);
      for (const limit of [0, 1, 2, 3, 4, bytes - 4, bytes - 3, bytes - 1, bytes, bytes + 1, bytes * 3]) {
        if (limit < 0) continue;
        expect(fitsInUtf8Bytes(s, limit), `${JSON.stringify(s.slice(0, 8))} (${bytes} bytes) within ${limit}`).toBe(bytes <= limit);
      }
    }
  });

  it('a surrogate pair straddling the limit does not fit: it is 4 bytes or nothing', () => {
    const s = 'ab😀'; // 2 + 4 bytes
    expect(fitsInUtf8Bytes(s, 5)).toBe(false);
    expect(fitsInUtf8Bytes(s, 6)).toBe(true);
  });

  it('a limit between calls is honoured (the reused buffer never lends its extra length)', () => {
    expect(fitsInUtf8Bytes('€'.repeat(1000), 100_000)).toBe(true);
    expect(fitsInUtf8Bytes('€'.repeat(1000), 2999)).toBe(false);
    expect(fitsInUtf8Bytes('€'.repeat(1000), 3000)).toBe(true);
  });

  it('code points and well-formedness', () => {
    expect(codePointLength('😀😀')).toBe(2);
    expect(codePointLength('a\ud800')).toBe(2);
    expect(isWellFormedUnicode('😀')).toBe(true);
    expect(isWellFormedUnicode('a\ud800')).toBe(false);
    expect(isWellFormedUnicode('\udc00')).toBe(false);
  });
});
