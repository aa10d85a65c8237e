import type { Position } from './topic-history.js';

const SEP = '\u001f';

/** What `append` publishes: the payload with its position. An offset, an epoch and a tag never hold SEP; the payload may. */
export function formatHistoryMessage(position: Position, payload: string): string {
  return `${position.offset}${SEP}${position.epoch}${SEP}${position.tag}${SEP}${payload}`;
}

/** The position and payload of a published history message; `undefined` if it is not one. */
export function parseHistoryMessage(message: string): { position: Position; payload: string } | undefined {
  const a = message.indexOf(SEP);
  const b = a === -1 ? -1 : message.indexOf(SEP, a + 1);
  const c = b === -1 ? -1 : message.indexOf(SEP, b + 1);
  if (c === -1) return undefined;
  const offset = Number(message.slice(0, a));
  if (!Number.isSafeInteger(offset) || offset < 1) return undefined;
  return { position: { offset, epoch: message.slice(a + 1, b), tag: message.slice(b + 1, c) }, payload: message.slice(c + 1) };
}
