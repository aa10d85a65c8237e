import type { Position } from './topic-history.js';

const SEP = '\u001f';

/** What `append` publishes: the payload with its position. An epoch and an offset never hold SEP; the payload may. */
export function formatHistoryMessage(position: Position, payload: string): string {
  return `${position.offset}${SEP}${position.epoch}${SEP}${payload}`;
}

/** The position and payload of a published history message; `undefined` if it is not one. */
export function parseHistoryMessage(message: string): { position: Position; payload: string } | undefined {
  const a = message.indexOf(SEP);
  const b = a === -1 ? -1 : message.indexOf(SEP, a + 1);
  if (b === -1) return undefined;
  const offset = Number(message.slice(0, a));
  if (!Number.isSafeInteger(offset) || offset < 1) return undefined;
  return { position: { offset, epoch: message.slice(a + 1, b) }, payload: message.slice(b + 1) };
}
