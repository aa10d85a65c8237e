/**
 * String measures the protocol's limits are stated in, without Node's
 * Buffer, so the protocol package runs in browsers too.
 */

/** A lone surrogate (a high one not followed by a low one, or a low one not preceded by a high one). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string is well-formed UTF-16, i.e. encodes to UTF-8 without
 * loss. Redis keys and pub/sub channel names are bytes: a lone surrogate
 * becomes U+FFFD there, so distinct ids with one would share a key.
 */
export function isWellFormedUnicode(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** Unicode code points in `value` (what "characters" means in every limit), counting at most to `stopAbove` + 1. */
export function codePointLength(value: string, stopAbove = Number.POSITIVE_INFINITY): number {
  // Fast path: without surrogates, UTF-16 units are code points.
  if (value.length <= stopAbove) return value.length - countLowSurrogates(value);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A low surrogate right after a high one completes a pair counted already.
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) {
      const previous = value.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) continue;
    }
    if (++n > stopAbove) return n;
  }
  return n;
}

function countLowSurrogates(value: string): number {
  let pairs = 0;
  for (let i = 1; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      const previous = value.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) pairs++;
    }
  }
  return pairs;
}

/** Bytes of `value` in UTF-8 (a lone surrogate counts 3, as U+FFFD). */
export function utf8ByteLength(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
