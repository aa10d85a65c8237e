/**
 * String measures the protocol's limits are stated in. UTF-8 sizes come
 * from TextEncoder, not Node's Buffer, so the package runs in browsers too.
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

/**
 * TextEncoder is a global of every runtime this package targets (browsers,
 * Node.js, Deno, Bun, workers). Declared here for this module only, so
 * neither DOM nor Node typings are needed to build the package.
 */
declare const TextEncoder: new () => {
  encode(input: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
};

const encoder = new TextEncoder();
/** Strings up to this many UTF-16 units are measured in a reused buffer (at most 3 bytes each). */
const SCRATCH_UNITS = 16 * 1024;
let scratch = new Uint8Array(0);

/** The reused buffer, grown to at least `bytes`. */
function scratchOf(bytes: number): Uint8Array {
  if (scratch.length < bytes) scratch = new Uint8Array(bytes);
  return scratch;
}

/** Bytes of `value` in UTF-8, as TextEncoder writes it (a lone surrogate counts 3, as U+FFFD). */
export function utf8ByteLength(value: string): number {
  if (value.length > SCRATCH_UNITS) return encoder.encode(value).byteLength;
  return encoder.encodeInto(value, scratchOf(value.length * 3)).written;
}

/**
 * Whether `value` is at most `maxBytes` bytes in UTF-8 (counted as
 * `utf8ByteLength` counts). Never encodes more than `maxBytes` bytes, and
 * allocates nothing after the first call for a given limit.
 */
export function fitsInUtf8Bytes(value: string, maxBytes: number): boolean {
  // Every UTF-16 unit is 1 to 3 bytes (a surrogate pair is 2 units and 4 bytes).
  if (value.length * 3 <= maxBytes) return true;
  if (value.length > maxBytes) return false;
  // encodeInto stops before the first code point that does not fit: all of it read means it fits.
  const destination = scratchOf(maxBytes);
  return encoder.encodeInto(value, destination.length === maxBytes ? destination : destination.subarray(0, maxBytes)).read === value.length;
}
