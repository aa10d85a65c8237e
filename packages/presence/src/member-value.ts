const SEP = '\u001f';

/**
 * The meta of a member's value in a topic's members hash, as
 * `lua/prelude.lua` writes it: `<generation>\x1f<byte length of user>\x1f<user><meta>`
 * (the user's length first because a user id may hold any character), or
 * `<generation>\x1f<meta>` as written before users were counted.
 */
export function metaOfMemberValue(value: string): string {
  const a = value.indexOf(SEP);
  if (a === -1) return '';
  const b = value.indexOf(SEP, a + 1);
  const length = b === -1 ? Number.NaN : Number(value.slice(a + 1, b));
  if (!Number.isInteger(length) || length < 0 || b === a + 1) return value.slice(a + 1);
  if (length === 0) return value.slice(b + 1);
  // The length counts UTF-8 bytes (Lua's #), which is how Redis holds the user.
  return Buffer.from(value.slice(b + 1), 'utf8')
    .subarray(length)
    .toString('utf8');
}
