/**
 * Channel permissions: a map of channel-id patterns to the operations they
 * allow, as in a token's channels claim or AUTH_DEFAULT_CHANNELS:
 * `{ "chat-*": ["join", "publish"], "news": ["join"] }`.
 *
 * Guarantees: `*` matches any run of characters, the empty run included, and
 * is the only special character. For a channel, the winning pattern is the
 * exact id if present, else the matching pattern with the most non-`*`
 * characters (ties: the first in the claim's order); only the winner's
 * operations apply, so a specific pattern can narrow a broad one. No pattern
 * matches: nothing is allowed. Unknown operations are ignored.
 */

export const CHANNEL_OPERATIONS = ['join', 'publish'] as const;
export type ChannelOperation = (typeof CHANNEL_OPERATIONS)[number];

interface Grant {
  readonly pattern: string;
  /** Characters other than `*`: the pattern's specificity. */
  readonly weight: number;
  readonly operations: ReadonlySet<ChannelOperation>;
}

/** Parsed grants: immutable, shared by every connection holding the same claim. */
export interface ChannelGrants {
  readonly exact: ReadonlyMap<string, ReadonlySet<ChannelOperation>>;
  readonly patterns: readonly Grant[];
}

/**
 * Whether `pattern` (with `*` wildcards) matches all of `text`. Two pointers
 * with a return to the last `*`: O(pattern × text) at worst, never the
 * exponential backtracking of a regular expression built from a claim.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Grants from an untrusted value (a token claim, a setting). Returns a
 * message naming the problem when the value is not an object of string
 * arrays; a non-string operation is a problem, an unknown string is ignored.
 */
export function parseChannelGrants(value: unknown): ChannelGrants | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'must be an object mapping channel patterns to arrays of operations';
  }
  const exact = new Map<string, ReadonlySet<ChannelOperation>>();
  const patterns: Grant[] = [];
  for (const [pattern, ops] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(ops) || !ops.every((op): op is string => typeof op === 'string')) {
      return `the operations of "${pattern.slice(0, 100)}" must be an array of strings`;
    }
    const operations = new Set(ops.filter((op): op is ChannelOperation => (CHANNEL_OPERATIONS as readonly string[]).includes(op)));
    if (!pattern.includes('*')) {
      exact.set(pattern, operations);
      continue;
    }
    patterns.push({ pattern, weight: pattern.replaceAll('*', '').length, operations });
  }
  return { exact, patterns };
}

/** The operations the winning pattern gives `channel` (empty when none matches). */
export function operationsFor(grants: ChannelGrants, channel: string): ReadonlySet<ChannelOperation> {
  const exact = grants.exact.get(channel);
  if (exact !== undefined) return exact;
  let best: Grant | undefined;
  for (const grant of grants.patterns) {
    if ((best === undefined || grant.weight > best.weight) && globMatches(grant.pattern, channel)) best = grant;
  }
  return best?.operations ?? NOTHING;
}

const NOTHING: ReadonlySet<ChannelOperation> = new Set();

export function allows(grants: ChannelGrants, channel: string, operation: ChannelOperation): boolean {
  return operationsFor(grants, channel).has(operation);
}

/** AUTH_DEFAULT_CHANNELS unset: every channel may be joined and published to. */
export const DEFAULT_CHANNEL_GRANTS_JSON = '{"*": ["join", "publish"]}';
