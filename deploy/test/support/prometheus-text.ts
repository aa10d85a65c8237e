/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): what a
 * Prometheus server would accept, nothing more. Throws on the first line a
 * scraper would reject, naming it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** As Prometheus reads values: Go's strconv.ParseFloat, which takes NaN and Inf in any case. */
function parseValue(raw: string, line: number): number {
  if (/^nan$/i.test(raw)) return Number.NaN;
  if (/^\+?inf(inity)?$/i.test(raw)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(raw)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`line ${line}: "${raw}" is not a sample value`);
  return Number(raw);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parses `{a="x",b="y"}` starting at `text[start] === '{'`; returns the labels and the index after `}`. */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (nameMatch === null) throw new Error(`line ${line}: bad label name at column ${i + 1}`);
    const name = nameMatch[0];
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new Error(`line ${line}: expected ="…" after label ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${line}: invalid escape \\${next ?? ''} in label ${name}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`line ${line}: reserved label name ${name}`);
    labels[name] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

/**
 * The family a sample name belongs to, given the declared families: itself,
 * or a histogram's `_bucket` / `_sum` / `_count` (a summary's `_sum` / `_count`).
 */
export function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const direct = families.get(name);
  if (direct !== undefined) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (family === undefined) continue;
    if (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket')) return family;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const seriesSeen = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const parts = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (parts === null) return; // a plain comment
      const [, keyword, name, rest = ''] = parts as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: invalid metric name "${name}"`);
      let family = families.get(name);
      if (family === undefined) {
        if (finished.has(name)) throw new Error(`line ${line}: family ${name} appears twice`);
        family = { name, type: 'untyped', help: undefined, samples: [] };
        families.set(name, family);
      } else if (family.samples.length > 0) {
        throw new Error(`line ${line}: # ${keyword} for ${name} after its samples`);
      }
      if (current !== undefined && current !== family) finished.add(current.name);
      current = family;
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        family.help = unescapeHelp(rest);
      } else {
        const type = rest.trim();
        if (!TYPES.has(type)) throw new Error(`line ${line}: unknown type "${type}" for ${name}`);
        family.type = type as MetricType;
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (nameMatch === null) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = nameMatch[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    const rest = raw.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new Error(`line ${line}: expected "value [timestamp]" in: ${raw}`);
    const value = parseValue(rest[0] as string, line);
    if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`line ${line}: bad timestamp ${rest[1]}`);
    let family = familyOf(name, families);
    if (family === undefined) {
      // A sample with no TYPE line: an untyped family of its own.
      if (finished.has(name)) throw new Error(`line ${line}: samples of ${name} are not contiguous`);
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    if (family !== current) {
      if (current !== undefined) finished.add(current.name);
      if (finished.has(family.name)) throw new Error(`line ${line}: samples of ${family.name} are not contiguous`);
      current = family;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
    if (seriesSeen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seriesSeen.add(key);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is ${value}`);
    if (family.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) {
      throw new Error(`line ${line}: histogram bucket without le`);
    }
    if (family.type === 'summary' && name === family.name && labels.quantile === undefined) {
      throw new Error(`line ${line}: summary sample without quantile`);
    }
    family.samples.push({ name, labels, value });
  });
  return families;
}

/** The value of one series, or undefined when absent. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length !== Object.keys(labels).length) continue;
      if (keys.every((key) => sample.labels[key] === labels[key])) return sample.value;
    }
  }
  return undefined;
}
