import { randomBytes } from 'node:crypto';
import { formatDuration, parseDuration } from './duration.js';
import type { ProgressSnapshot } from './progress.js';

export const SCENARIOS = ['fanout', 'rooms', 'join-storm', 'churn', 'connect'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const TRANSPORT_MODES = ['websocket', 'polling', 'both'] as const;
export type TransportMode = (typeof TRANSPORT_MODES)[number];

/**
 * Which target each client connects to. `spread`: client i on target i mod N
 * (so every room spans the nodes). `room-local` (rooms): every member of room
 * r, its senders included, on target r mod N, so no message has to cross
 * nodes to reach its room.
 */
export const PLACEMENTS = ['spread', 'room-local'] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** Phases a caller can hook (programmatic `onPhase`, messaging scenarios). */
export type HookedPhase = 'sending' | 'drained';

/** The smallest `size`: the sequence/time prefix every message carries takes up to this many bytes. */
export const MIN_MESSAGE_SIZE = 32;
/** The server's default MAX_MESSAGE_BYTES. */
export const MAX_MESSAGE_SIZE = 64 * 1024;

/**
 * Options of a run, as the CLI flags name them (camelCase here). Every field
 * but `targets` is optional; defaults are in {@link OPTION_SPECS}.
 * Durations are milliseconds when numbers, or strings such as `10s`, `2m`, `500ms`.
 */
export interface LoadTestOptions {
  /** Server URLs; clients are spread over them round-robin. One URL behind a load balancer works too. */
  targets?: string | readonly string[];
  scenario?: ScenarioName;
  clients?: number;
  /** Connections started per second, over all workers; 0 = as fast as possible. */
  connectRate?: number;
  transport?: TransportMode;
  channels?: number;
  roomsPerChannel?: number;
  membersPerRoom?: number;
  /** Which target each client connects to (rooms); see {@link PLACEMENTS}. */
  placement?: Placement;
  /** Messages sent per second, over all publishers and workers. */
  rate?: number;
  /** Bytes of `data.message`, the sequence/time prefix included. */
  size?: number;
  /** How long the measured sending lasts (after the warm-up). Exclusive with `messages`. */
  duration?: number | string;
  /** How many measured messages to send (after the warm-up). Exclusive with `duration`. */
  messages?: number;
  /** Sending before the measurement starts: checked for losses, left out of latency and rates. */
  warmup?: number | string;
  /** Longest wait for in-flight deliveries after sending stops; ends early once every receiver has everything. */
  drain?: number | string;
  /** Longest wait for a join/leave/message acknowledgement and for a connection. */
  ackTimeout?: number | string;
  /** Clients that send in `fanout` (and `churn`); the rate is shared between them. */
  publishers?: number;
  /** Generator processes (`child_process.fork`); 1 runs in this process. */
  workers?: number;
  /** Ask for an acknowledgement of every message (refusals are then counted by reason). Default true. */
  acks?: boolean;
  /** Writes the full report as JSON to this file. */
  json?: string;
  /** Writes a self-contained HTML report to this file. */
  html?: string;
  /** No progress line on stderr. */
  quiet?: boolean;
  /** Programmatic only: called about once a second with live figures. */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Programmatic only: aborts the run (runLoadTest rejects with LoadTestRunError). */
  signal?: AbortSignal;
  /**
   * Programmatic only, messaging scenarios (fanout, rooms, churn): awaited
   * with `sending` once every client has connected and joined, before the
   * first message (warm-up included) is sent, and with `drained` once the
   * drain is over, before any client disconnects. Between the two there is
   * only the message traffic, so a caller can read server counters (CPU,
   * `/metrics`) around it. A hook that throws fails the run (LoadTestRunError).
   */
  onPhase?: (phase: HookedPhase) => void | Promise<void>;
}

/** Options after defaults and validation; durations in milliseconds. Plain data (sent to worker processes). */
export interface ResolvedOptions {
  targets: string[];
  scenario: ScenarioName;
  clients: number;
  connectRate: number;
  transport: TransportMode;
  channels: number;
  roomsPerChannel: number;
  membersPerRoom: number;
  placement: Placement;
  rate: number;
  size: number;
  durationMs: number | null;
  messages: number | null;
  warmupMs: number;
  drainMs: number;
  ackTimeoutMs: number;
  publishers: number;
  workers: number;
  acks: boolean;
  json: string | null;
  html: string | null;
  quiet: boolean;
  /** Random id in every channel name of the run, so runs sharing a cluster never see each other. */
  runId: string;
}

export class LoadTestOptionsError extends Error {
  override readonly name = 'LoadTestOptionsError';
}

type OptionKey = Exclude<keyof LoadTestOptions, 'onProgress' | 'signal' | 'onPhase'>;

export interface OptionSpec {
  key: OptionKey;
  flag: string;
  /** Placeholder in --help; absent for boolean flags. */
  value?: string;
  /** The default as --help prints it. */
  defaultText: string;
  description: string;
  /** Scenarios that use the option; undefined = all. */
  scenarios?: readonly ScenarioName[];
}

const MESSAGING: readonly ScenarioName[] = ['fanout', 'rooms', 'churn'];

/** Every option, in --help order, with its default. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  {
    key: 'targets',
    flag: '--targets',
    value: 'URL[,URL...]',
    defaultText: 'http://127.0.0.1:3000',
    description: 'server nodes; clients are spread over them round-robin',
  },
  { key: 'scenario', flag: '--scenario', value: 'NAME', defaultText: 'fanout', description: SCENARIOS.join(' | ') },
  {
    key: 'clients',
    flag: '--clients',
    value: 'N',
    defaultText: '100 (rooms: channels × rooms-per-channel × members-per-room)',
    description: 'connections to open',
  },
  {
    key: 'connectRate',
    flag: '--connect-rate',
    value: 'N',
    defaultText: '500',
    description: 'connections started per second, all workers together; 0 = as fast as possible',
  },
  {
    key: 'transport',
    flag: '--transport',
    value: 'MODE',
    defaultText: 'websocket',
    description: TRANSPORT_MODES.join(' | ') + ' (both: alternate)',
  },
  {
    key: 'channels',
    flag: '--channels',
    value: 'N',
    defaultText: '1',
    description: 'channels (rooms, connect)',
    scenarios: ['rooms', 'connect'],
  },
  {
    key: 'roomsPerChannel',
    flag: '--rooms-per-channel',
    value: 'N',
    defaultText: '10',
    description: 'rooms in each channel (rooms)',
    scenarios: ['rooms'],
  },
  {
    key: 'membersPerRoom',
    flag: '--members-per-room',
    value: 'N',
    defaultText: '10',
    description: 'members of each room (rooms)',
    scenarios: ['rooms'],
  },
  {
    key: 'placement',
    flag: '--placement',
    value: 'MODE',
    defaultText: 'spread',
    description: 'spread: client i on target i mod N; room-local: every member of room r (senders too) on target r mod N (rooms)',
    scenarios: ['rooms'],
  },
  {
    key: 'rate',
    flag: '--rate',
    value: 'N',
    defaultText: '20',
    description: 'messages per second, all publishers together',
    scenarios: MESSAGING,
  },
  {
    key: 'size',
    flag: '--size',
    value: 'BYTES',
    defaultText: '100',
    description: `bytes of data.message (${MIN_MESSAGE_SIZE}-${MAX_MESSAGE_SIZE})`,
    scenarios: MESSAGING,
  },
  {
    key: 'duration',
    flag: '--duration',
    value: 'TIME',
    defaultText: '10s',
    description: 'measured sending time, e.g. 10s, 2m (or use --messages)',
    scenarios: MESSAGING,
  },
  {
    key: 'messages',
    flag: '--messages',
    value: 'N',
    defaultText: 'none',
    description: 'measured messages to send instead of --duration',
    scenarios: MESSAGING,
  },
  {
    key: 'warmup',
    flag: '--warmup',
    value: 'TIME',
    defaultText: '1s',
    description: 'sending before measuring (still checked for losses)',
    scenarios: MESSAGING,
  },
  {
    key: 'drain',
    flag: '--drain',
    value: 'TIME',
    defaultText: '5s',
    description: 'longest wait for deliveries after sending stops (join-storm: for counts to settle)',
    scenarios: [...MESSAGING, 'join-storm'],
  },
  {
    key: 'ackTimeout',
    flag: '--ack-timeout',
    value: 'TIME',
    defaultText: '10s',
    description: 'longest wait for a connection or an acknowledgement',
  },
  {
    key: 'publishers',
    flag: '--publishers',
    value: 'N',
    defaultText: '1',
    description: 'clients that send (fanout, churn)',
    scenarios: ['fanout', 'churn'],
  },
  {
    key: 'workers',
    flag: '--workers',
    value: 'N',
    defaultText: '1',
    description: 'generator processes (child_process.fork); 1 = this process',
  },
  {
    key: 'acks',
    flag: '--no-acks',
    defaultText: 'acks on',
    description: 'send messages without asking for acknowledgements',
    scenarios: MESSAGING,
  },
  { key: 'json', flag: '--json', value: 'FILE', defaultText: 'none', description: 'write the full report as JSON' },
  { key: 'html', flag: '--html', value: 'FILE', defaultText: 'none', description: 'write a self-contained HTML report with charts' },
  { key: 'quiet', flag: '--quiet', defaultText: 'off', description: 'no live progress line on stderr' },
];

const DEFAULTS = {
  targets: ['http://127.0.0.1:3000'],
  scenario: 'fanout' as ScenarioName,
  clients: 100,
  connectRate: 500,
  transport: 'websocket' as TransportMode,
  channels: 1,
  roomsPerChannel: 10,
  membersPerRoom: 10,
  placement: 'spread' as Placement,
  rate: 20,
  size: 100,
  durationMs: 10_000,
  warmupMs: 1000,
  drainMs: 5000,
  ackTimeoutMs: 10_000,
  publishers: 1,
  workers: 1,
};

function flagOf(key: OptionKey): string {
  return OPTION_SPECS.find((spec) => spec.key === key)?.flag ?? key;
}

function fail(message: string): never {
  throw new LoadTestOptionsError(message);
}

function integer(key: OptionKey, value: number | undefined, fallback: number, min: number, max = 10_000_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${flagOf(key)} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function positive(key: OptionKey, value: number | undefined, fallback: number, allowZero: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    fail(`${flagOf(key)} must be a number ${allowZero ? '≥ 0' : '> 0'}, got ${String(value)}`);
  }
  return value;
}

function duration(key: OptionKey, value: number | string | undefined, fallback: number, minMs: number): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === undefined || !Number.isFinite(ms)) {
    fail(`${flagOf(key)} must be a duration such as 10s, 2m or 500ms, got "${String(value)}"`);
  }
  if (ms < minMs) fail(`${flagOf(key)} must be at least ${formatDuration(minMs)}, got ${formatDuration(Math.round(ms))}`);
  return Math.round(ms);
}

function oneOf<T extends string>(key: OptionKey, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    fail(`${flagOf(key)} must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function parseTargets(value: LoadTestOptions['targets']): string[] {
  if (value === undefined) return [...DEFAULTS.targets];
  const list = (typeof value === 'string' ? value.split(',') : [...value]).map((t) => t.trim()).filter((t) => t !== '');
  if (list.length === 0) fail('--targets needs at least one URL, e.g. --targets http://127.0.0.1:3001,http://127.0.0.1:3002');
  return list.map((target) => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return fail(`--targets: "${target}" is not a URL; write it like http://127.0.0.1:3000`);
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
      fail(`--targets: "${target}" must start with http://, https://, ws:// or wss://`);
    }
    if (url.pathname !== '/' && url.pathname !== '') {
      fail(`--targets: "${target}" must not have a path; the Socket.IO path is always /socket.io/`);
    }
    return url.origin.replace(/^ws/, 'http');
  });
}

/** Applies defaults and checks every option; throws {@link LoadTestOptionsError} with a message that says what to change. */
export function resolveOptions(input: LoadTestOptions): ResolvedOptions {
  const scenario = oneOf('scenario', input.scenario, SCENARIOS, DEFAULTS.scenario);
  for (const spec of OPTION_SPECS) {
    if (spec.scenarios === undefined || spec.scenarios.includes(scenario)) continue;
    if (input[spec.key] === undefined) continue;
    fail(`${spec.flag} does not apply to --scenario ${scenario} (it is used by ${spec.scenarios.join(', ')}); remove it`);
  }
  if (input.duration !== undefined && input.messages !== undefined) {
    fail('pass either --duration or --messages, not both');
  }

  const targets = parseTargets(input.targets);
  const channels = integer('channels', input.channels, DEFAULTS.channels, 1, 100_000);
  const roomsPerChannel = integer('roomsPerChannel', input.roomsPerChannel, DEFAULTS.roomsPerChannel, 1, 100_000);
  const membersPerRoom = integer('membersPerRoom', input.membersPerRoom, DEFAULTS.membersPerRoom, 1, 100_000);

  const placement = oneOf('placement', input.placement, PLACEMENTS, DEFAULTS.placement);
  if (placement === 'room-local' && channels * roomsPerChannel < targets.length) {
    fail(
      `--placement room-local puts each room on one target: ${channels * roomsPerChannel} room(s) leave ${targets.length - channels * roomsPerChannel} of ${targets.length} targets without clients; ` +
        'add rooms (--channels, --rooms-per-channel) or targets',
    );
  }

  let clients: number;
  if (scenario === 'rooms') {
    const needed = channels * roomsPerChannel * membersPerRoom;
    clients = integer('clients', input.clients, needed, 1);
    if (clients !== needed) {
      fail(
        `--scenario rooms uses channels × rooms-per-channel × members-per-room clients (${channels} × ${roomsPerChannel} × ${membersPerRoom} = ${needed}); ` +
          `drop --clients ${clients} or change those three`,
      );
    }
  } else {
    clients = integer('clients', input.clients, DEFAULTS.clients, 1);
  }

  const publishers = integer('publishers', input.publishers, DEFAULTS.publishers, 1);
  if (scenario === 'fanout' && publishers > clients) {
    fail(`--publishers (${publishers}) cannot exceed --clients (${clients}); publishers are members of the channel`);
  }
  if (scenario === 'churn') {
    if (clients < 2) fail('--scenario churn needs at least 2 clients: half stay, half churn');
    const stable = stableClientsOf(clients);
    if (publishers > stable) {
      fail(
        `--scenario churn keeps ${stable} of ${clients} clients as stable members and publishes from them; use --publishers ≤ ${stable}`,
      );
    }
  }

  const workers = integer('workers', input.workers, DEFAULTS.workers, 1, 64);
  if (workers > clients) fail(`--workers (${workers}) cannot exceed --clients (${clients}); every worker needs clients`);

  const rate = positive('rate', input.rate, DEFAULTS.rate, false);
  const messages = input.messages === undefined ? null : integer('messages', input.messages, 1, 1, 1_000_000_000);
  const durationMs = messages !== null ? null : duration('duration', input.duration, DEFAULTS.durationMs, 1);
  if (durationMs !== null && MESSAGING.includes(scenario) && Math.floor((rate * durationMs) / 1000) < 1) {
    fail(`--rate ${rate} for --duration ${formatDuration(durationMs)} sends no message; raise one of them`);
  }

  return {
    targets,
    scenario,
    clients,
    connectRate: positive('connectRate', input.connectRate, DEFAULTS.connectRate, true),
    transport: oneOf('transport', input.transport, TRANSPORT_MODES, DEFAULTS.transport),
    channels,
    roomsPerChannel,
    membersPerRoom,
    placement,
    rate,
    size: integer('size', input.size, DEFAULTS.size, MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE),
    durationMs,
    messages,
    warmupMs: duration('warmup', input.warmup, DEFAULTS.warmupMs, 0),
    drainMs: duration('drain', input.drain, DEFAULTS.drainMs, 0),
    ackTimeoutMs: duration('ackTimeout', input.ackTimeout, DEFAULTS.ackTimeoutMs, 100),
    publishers,
    workers,
    acks: input.acks ?? true,
    json: nonEmptyPath('json', input.json),
    html: nonEmptyPath('html', input.html),
    quiet: input.quiet ?? false,
    runId: randomBytes(4).toString('hex'),
  };
}

function nonEmptyPath(key: OptionKey, value: string | undefined): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || value.trim() === '') fail(`${flagOf(key)} needs a file name, e.g. ${flagOf(key)} report.${key}`);
  return value;
}

/** Churn: the first half of the clients stay members the whole run (publishers among them); the rest churn. */
export function stableClientsOf(clients: number): number {
  return Math.ceil(clients / 2);
}

/** Messages of the whole send schedule: warm-up first, then the measured ones. */
export function messageCounts(options: ResolvedOptions): { warmup: number; measured: number; total: number } {
  const warmup = Math.floor((options.rate * options.warmupMs) / 1000);
  const measured = options.messages ?? Math.floor((options.rate * (options.durationMs ?? 0)) / 1000);
  return { warmup, measured, total: warmup + measured };
}
