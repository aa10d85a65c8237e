import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OPTION_SPECS, SCENARIOS, type LoadTestOptions } from './options.js';
import { SCENARIO_DESCRIPTIONS } from './scenarios/index.js';

/** A command line that cannot be understood; the message says what to do. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export type CliArgs = { help: true } | { help: false; options: LoadTestOptions };

const NUMERIC = new Set<keyof LoadTestOptions>([
  'clients',
  'connectRate',
  'channels',
  'roomsPerChannel',
  'membersPerRoom',
  'rate',
  'size',
  'messages',
  'publishers',
  'workers',
]);
const BOOLEAN = new Set<keyof LoadTestOptions>(['acks', 'quiet']);

function parseConfig(): NonNullable<ParseArgsConfig['options']> {
  const config: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const spec of OPTION_SPECS) config[spec.flag.slice(2)] = { type: BOOLEAN.has(spec.key) ? 'boolean' : 'string' };
  return config;
}

function explain(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `unknown option ${flag}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--[\w-]+/.exec(message)?.[0];
    return flag === undefined
      ? message
      : `${flag} needs a value, e.g. ${flag} ${OPTION_SPECS.find((s) => s.flag === flag)?.value ?? 'VALUE'}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `unexpected argument "${arg}": every setting is an option such as --clients 200`;
  }
  return message;
}

/** Parses the CLI's arguments (without `node` and the script) into the programmatic options. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: parseConfig(), strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CliUsageError(`${explain(err)}. Run with --help to see every option.`);
  }
  if (values.help === true) return { help: true };
  const options: Record<string, unknown> = {};
  for (const spec of OPTION_SPECS) {
    const raw = values[spec.flag.slice(2)];
    if (raw === undefined) continue;
    if (spec.key === 'acks') {
      options.acks = false; // --no-acks
    } else if (BOOLEAN.has(spec.key)) {
      options[spec.key] = raw === true;
    } else if (NUMERIC.has(spec.key)) {
      const text = String(raw).trim();
      const value = Number(text);
      if (text === '' || !Number.isFinite(value))
        throw new CliUsageError(`${spec.flag} must be a number, got "${String(raw)}" (e.g. ${spec.flag} 200)`);
      options[spec.key] = value;
    } else {
      options[spec.key] = String(raw);
    }
  }
  return { help: false, options: options };
}

/** --help: every option with its default, the scenarios, exit statuses and examples. */
export function helpText(): string {
  const rows = OPTION_SPECS.map((spec) => [
    `${spec.flag}${spec.value === undefined ? '' : ` ${spec.value}`}`,
    spec.description,
    spec.defaultText,
  ]);
  rows.push(['-h, --help', 'show this help', '']);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  const lines = [
    'Usage: realtime-loadtest [options]',
    '       npm run loadtest -- [options]',
    '',
    'Load-tests realtime cluster nodes over their own protocol (channels, rooms, presence). Every message carries a per-sender',
    'sequence number and its send time: every receiver checks for lost, duplicated and out-of-order messages, and latency',
    'goes into HDR histograms (p50, p90, p99, p99.9, max), overall and per target.',
    '',
    'Options:',
    ...rows.map(([flag, description, def]) => `  ${flag!.padEnd(width)}  ${description}${def ? ` (default: ${def})` : ''}`),
    '',
    'Scenarios:',
    ...SCENARIOS.map((s) => `  ${s.padEnd(11)} ${SCENARIO_DESCRIPTIONS[s]}`),
    '',
    'Times: 500ms, 10s, 2m, 1h (a bare number is seconds).',
    '',
    'Exit status: 0 the run completed with nothing lost, duplicated or refused and every connection and join succeeded',
    '             (join-storm: counts settled at N and never went down); 1 it completed but a check failed;',
    '             2 bad options; 3 a target refused connections or the run failed.',
    '',
    'Examples:',
    '  npm run loadtest -- --targets http://127.0.0.1:3001,http://127.0.0.1:3002 --scenario fanout --clients 200 --rate 20 --duration 10s --json report.json',
    '  npm run loadtest -- --scenario rooms --channels 10 --rooms-per-channel 10 --members-per-room 10 --rate 4000 --workers 2',
    '  npm run loadtest -- --scenario join-storm --clients 2000 --connect-rate 0 --workers 2',
  ];
  return lines.join('\n') + '\n';
}
