/**
 * Opaque listing cursors: where a walk stands, as base64url JSON, so a
 * client cannot tell (or depend on) what is inside. A cursor that does not
 * decode is refused (undefined), never trusted.
 */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (cursor === undefined) return {};
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]*$/.test(cursor)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Thrown for a cursor this store did not make. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor() {
    super('cursor is not one this API returned');
  }
}

/** `*`, `?`, `[`, `]` and `\` escaped: a literal prefix in a Redis MATCH pattern. */
export function globEscape(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
