/**
 * Just enough of the Dockerfile language to replay this repository's
 * Dockerfile without Docker. Instructions it does not know are an error, so
 * a Dockerfile change the replay cannot follow fails the test instead of
 * being skipped.
 */

export type Instruction =
  | { kind: 'FROM'; image: string; stage: string | undefined }
  | { kind: 'ARG'; name: string; value: string | undefined }
  | { kind: 'ENV'; values: Record<string, string> }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'COPY'; from: string | undefined; sources: string[]; destination: string }
  | { kind: 'RUN'; command: string }
  | { kind: 'USER'; user: string }
  | { kind: 'EXPOSE'; ports: string[] }
  | { kind: 'HEALTHCHECK'; options: Record<string, string>; command: string[] }
  | { kind: 'STOPSIGNAL'; signal: string }
  | { kind: 'CMD'; command: string[] };

export interface Stage {
  name: string | undefined;
  image: string;
  instructions: Instruction[];
}

/** Logical lines: comments and blank lines dropped, `\` continuations joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const trimmed = raw.trim();
    if (pending === '' && (trimmed === '' || trimmed.startsWith('#'))) continue;
    if (pending !== '' && trimmed.startsWith('#')) continue;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(pending + trimmed);
    pending = '';
  }
  if (pending !== '') throw new Error('Dockerfile ends inside a line continuation');
  return lines;
}

function jsonArray(text: string, what: string): string[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`${what} must be a JSON array of strings`);
  return parsed;
}

/** Splits leading `--flag=value` options from the rest. */
function flags(rest: string): { flags: Record<string, string>; rest: string } {
  const found: Record<string, string> = {};
  let remaining = rest;
  for (;;) {
    const match = /^--([a-z-]+)=(\S+)\s+/.exec(remaining);
    if (match === null) return { flags: found, rest: remaining };
    found[match[1] as string] = match[2] as string;
    remaining = remaining.slice(match[0].length);
  }
}

function substitute(text: string, args: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const value = args[name];
    if (value === undefined) throw new Error(`Dockerfile uses ${whole} without a value`);
    return value;
  });
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const globalArgs: Record<string, string | undefined> = {};
  for (const line of logicalLines(text)) {
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match === null) throw new Error(`cannot read Dockerfile line: ${line}`);
    const keyword = (match[1] as string).toUpperCase();
    const rest = match[2] as string;
    const current = stages.at(-1);
    if (keyword !== 'FROM' && keyword !== 'ARG' && current === undefined) throw new Error(`${keyword} before the first FROM`);
    let instruction: Instruction;
    switch (keyword) {
      case 'FROM': {
        const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
        if (from === null) throw new Error(`cannot read FROM ${rest}`);
        const image = substitute(from[1] as string, globalArgs);
        stages.push({ name: from[2], image, instructions: [] });
        continue;
      }
      case 'ARG': {
        const [name, value] = rest.split('=', 2) as [string, string | undefined];
        instruction = { kind: 'ARG', name: name.trim(), value: value?.trim() };
        if (current === undefined) {
          globalArgs[instruction.name] = instruction.value;
          continue;
        }
        break;
      }
      case 'ENV': {
        const values: Record<string, string> = {};
        for (const pair of rest.split(/\s+/).filter(Boolean)) {
          const at = pair.indexOf('=');
          if (at <= 0) throw new Error(`ENV ${rest}: only the KEY=value form is supported`);
          values[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"(.*)"$/, '$1');
        }
        instruction = { kind: 'ENV', values };
        break;
      }
      case 'WORKDIR':
        instruction = { kind: 'WORKDIR', path: rest.trim() };
        break;
      case 'COPY': {
        const parsed = flags(rest);
        const unknown = Object.keys(parsed.flags).filter((flag) => flag !== 'from');
        if (unknown.length > 0) throw new Error(`COPY --${unknown.join(', --')} is not replayed`);
        const parts = parsed.rest.trim().split(/\s+/);
        if (parts.length < 2) throw new Error(`COPY ${rest}: needs a source and a destination`);
        instruction = { kind: 'COPY', from: parsed.flags.from, sources: parts.slice(0, -1), destination: parts.at(-1) as string };
        break;
      }
      case 'RUN':
        if (rest.trim().startsWith('[') || rest.trim().startsWith('--'))
          throw new Error(`RUN ${rest}: only the plain shell form is replayed`);
        instruction = { kind: 'RUN', command: rest.trim() };
        break;
      case 'USER':
        instruction = { kind: 'USER', user: rest.trim() };
        break;
      case 'EXPOSE':
        instruction = { kind: 'EXPOSE', ports: rest.trim().split(/\s+/) };
        break;
      case 'HEALTHCHECK': {
        const parsed = flags(rest);
        const cmd = /^CMD\s+(\[.*\])$/.exec(parsed.rest.trim());
        if (cmd === null) throw new Error('HEALTHCHECK must use the exec form: CMD ["…"]');
        instruction = { kind: 'HEALTHCHECK', options: parsed.flags, command: jsonArray(cmd[1] as string, 'HEALTHCHECK CMD') };
        break;
      }
      case 'STOPSIGNAL':
        instruction = { kind: 'STOPSIGNAL', signal: rest.trim() };
        break;
      case 'CMD':
        instruction = { kind: 'CMD', command: jsonArray(rest.trim(), 'CMD') };
        break;
      default:
        throw new Error(`Dockerfile instruction ${keyword} is not replayed by this test: teach support/dockerfile.ts`);
    }
    current!.instructions.push(instruction);
  }
  return stages;
}

/**
 * .dockerignore semantics (Go filepath.Match per path segment, `**` for any
 * number of segments, `!` re-includes, the last matching line wins; a path
 * is excluded when it or one of its parent directories is).
 */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      const regex = pattern
        .split('/')
        .map((segment) =>
          segment === '**'
            ? '(?:.*)'
            : segment
                .split('')
                .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
                .join(''),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${regex}$`) };
    });
  const matches = (path: string): boolean => {
    let excluded = false;
    for (const rule of rules) if (rule.regex.test(path)) excluded = !rule.negate;
    return excluded;
  };
  return (path) => {
    const segments = path.replace(/^\.\//, '').split('/');
    for (let i = 1; i <= segments.length; i++) if (matches(segments.slice(0, i).join('/'))) return true;
    return false;
  };
}
