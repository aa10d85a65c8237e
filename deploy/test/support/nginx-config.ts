import { readFileSync } from 'node:fs';

/** A directive of an nginx configuration: name, arguments, and its block's children. */
export interface Directive {
  name: string;
  args: string[];
  children: Directive[] | undefined;
}

/** Tokenises and parses nginx's configuration syntax (quotes, comments, blocks). */
export function parseNginxConfig(text: string): Directive[] {
  const tokens: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
  }
  let i = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (i < tokens.length) {
      const name = tokens[i++] as string;
      if (name === '}') return out;
      const args: string[] = [];
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{') args.push(tokens[i++] as string);
      const end = tokens[i++];
      if (end === '{') out.push({ name, args, children: block() });
      else if (end === ';') out.push({ name, args, children: undefined });
      else throw new Error(`nginx config: directive ${name} is not terminated`);
    }
    return out;
  };
  return block();
}

export function parseNginxFile(path: string): Directive[] {
  return parseNginxConfig(readFileSync(path, 'utf8'));
}

/** Every directive named `name`, at any depth. */
export function findAll(directives: readonly Directive[], name: string): Directive[] {
  const found: Directive[] = [];
  for (const d of directives) {
    if (d.name === name) found.push(d);
    if (d.children !== undefined) found.push(...findAll(d.children, name));
  }
  return found;
}

/** nginx time (`3600s`, `1h`, `500ms`, bare seconds) in milliseconds. */
export function nginxTimeMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  if (m === null) throw new Error(`not an nginx time: ${value}`);
  return Number(m[1]) * (units[m[2] ?? 's'] as number);
}

/** nginx size (`2m`, `512k`, bare bytes) in bytes. */
export function nginxSizeBytes(value: string): number {
  const m = /^(\d+)([kKmMgG])?$/.exec(value);
  if (m === null) throw new Error(`not an nginx size: ${value}`);
  const factor = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return Number(m[1]) * factor;
}
