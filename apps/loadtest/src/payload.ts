/**
 * What every load-test message carries in `data.message`: a compact prefix
 * `<stream>|<seq>|<sentAtMicros>|<phase>` (stream and numbers in base 36),
 * padded with dots to the requested size. The stream names the sender; `seq`
 * counts from 1 per stream; `sentAtMicros` is the sender's epoch time in µs;
 * phase is `w` for a warm-up message, `m` for a measured one (decided by the
 * schedule, so a warm-up message sent late is still warm-up).
 */
export interface MessageStamp {
  stream: string;
  seq: number;
  /** Epoch milliseconds (fractional). */
  sentAt: number;
  warmup: boolean;
}

const SEP = '|';
let padding = '';

function pad(length: number): string {
  if (padding.length < length) padding = '.'.repeat(Math.max(length, 1024));
  return padding.slice(0, length);
}

export function encodeMessage(stamp: MessageStamp, size: number): string {
  const prefix =
    stamp.stream + SEP + stamp.seq.toString(36) + SEP + Math.round(stamp.sentAt * 1000).toString(36) + SEP + (stamp.warmup ? 'w' : 'm');
  return prefix.length >= size ? prefix : prefix + pad(size - prefix.length);
}

/** Undefined for anything not written by {@link encodeMessage}. */
export function decodeMessage(message: string): MessageStamp | undefined {
  const a = message.indexOf(SEP);
  if (a <= 0) return undefined;
  const b = message.indexOf(SEP, a + 1);
  if (b === -1) return undefined;
  const c = message.indexOf(SEP, b + 1);
  if (c === -1) return undefined;
  const seq = parseInt(message.slice(a + 1, b), 36);
  const micros = parseInt(message.slice(b + 1, c), 36);
  if (!Number.isSafeInteger(seq) || seq < 1 || !Number.isSafeInteger(micros)) return undefined;
  return { stream: message.slice(0, a), seq, sentAt: micros / 1000, warmup: message.charCodeAt(c + 1) === 119 /* w */ };
}

/** The stream name of the client with this global index. */
export function streamOf(clientIndex: number): string {
  return clientIndex.toString(36);
}
