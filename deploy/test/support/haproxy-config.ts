import { readFileSync } from 'node:fs';

/** One configuration line: its words, quotes removed (`timeout client 60s` → ['timeout', 'client', '60s']). */
export type Line = string[];

/** A section (`defaults`, `frontend public`, `backend realtime`, …) and its lines. */
export interface Section {
  kind: string;
  name: string | undefined;
  lines: Line[];
}

const SECTION_KINDS: ReadonlySet<string> = new Set([
  'global',
  'defaults',
  'frontend',
  'backend',
  'listen',
  'resolvers',
  'peers',
  'userlist',
  'mailers',
  'cache',
  'program',
  'http-errors',
  'ring',
  'log-forward',
]);

/** HAProxy's word splitting: blanks separate, quotes group, `\` escapes, `#` outside quotes comments. */
function words(raw: string, lineNumber: number): Line {
  const out: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < raw.length) word += raw[++i] as string;
      else word += c;
      continue;
    }
    if (c === '#') break;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) out.push(word);
      word = undefined;
      continue;
    }
    word ??= '';
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < raw.length) word += raw[++i] as string;
    else word += c;
  }
  if (quote !== undefined) throw new Error(`haproxy config line ${lineNumber}: unterminated ${quote}`);
  if (word !== undefined) out.push(word);
  return out;
}

export function parseHaproxyConfig(text: string): Section[] {
  const sections: Section[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = words(raw, index + 1);
    if (line.length === 0) return;
    if (SECTION_KINDS.has(line[0] as string)) {
      sections.push({ kind: line[0] as string, name: line[1], lines: [] });
      return;
    }
    const current = sections.at(-1);
    if (current === undefined) throw new Error(`haproxy config line ${index + 1}: "${line.join(' ')}" outside any section`);
    current.lines.push(line);
  });
  return sections;
}

export function parseHaproxyFile(path: string): Section[] {
  return parseHaproxyConfig(readFileSync(path, 'utf8'));
}

/** The one section of that kind (and name). */
export function section(sections: readonly Section[], kind: string, name?: string): Section {
  const found = sections.filter((s) => s.kind === kind && (name === undefined || s.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''} section, found ${found.length}`);
  return found[0] as Section;
}

/** The lines of a section that start with `prefix` (`['timeout', 'client']`), without the prefix. */
export function argsOf(s: Section, ...prefix: string[]): Line[] {
  return s.lines.filter((line) => prefix.every((word, i) => line[i] === word)).map((line) => line.slice(prefix.length));
}

/** The arguments of the one line starting with `prefix`. */
export function onlyArgs(s: Section, ...prefix: string[]): Line {
  const found = argsOf(s, ...prefix);
  if (found.length !== 1) throw new Error(`expected one "${prefix.join(' ')}" in ${s.kind} ${s.name ?? ''}, found ${found.length}`);
  return found[0] as Line;
}

/** HAProxy time (`60s`, `1h`, `500ms`, bare milliseconds) in milliseconds. */
export function haproxyTimeMs(value: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(value);
  if (m === null) throw new Error(`not a haproxy time: ${value}`);
  return Number(m[1]) * (units[m[2] ?? 'ms'] as number);
}
