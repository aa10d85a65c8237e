import { describe, expect, it } from 'vitest';
import { CliUsageError, helpText, parseCliArgs } from '../src/cli-args.js';
import { formatDuration, parseDuration } from '../src/duration.js';
import { LoadTestOptionsError, messageCounts, OPTION_SPECS, resolveOptions, type LoadTestOptions } from '../src/options.js';
import { clientsPerTarget, targetOf } from '../src/placement.js';

function rejects(options: LoadTestOptions, message: RegExp): void {
  expect(() => resolveOptions(options)).toThrow(LoadTestOptionsError);
  expect(() => resolveOptions(options)).toThrow(message);
}

describe('durations', () => {
  it('parses units, fractions and bare seconds', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('3')).toBe(3000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('10x')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
    expect(formatDuration(120_000)).toBe('2m');
    expect(formatDuration(1500)).toBe('1.5s');
  });
});

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      targets: ['http://127.0.0.1:3000'],
      scenario: 'fanout',
      clients: 100,
      connectRate: 500,
      transport: 'websocket',
      placement: 'spread',
      rate: 20,
      size: 100,
      durationMs: 10_000,
      messages: null,
      warmupMs: 1000,
      drainMs: 5000,
      ackTimeoutMs: 10_000,
      publishers: 1,
      workers: 1,
      acks: true,
      json: null,
      html: null,
      quiet: false,
    });
    expect(o.runId).toMatch(/^[0-9a-f]{8}$/);
    expect(messageCounts(o)).toEqual({ warmup: 20, measured: 200, total: 220 });
  });

  it('takes targets as a comma list or an array, normalised to origins', () => {
    expect(resolveOptions({ targets: 'http://a:1, http://b:2/' }).targets).toEqual(['http://a:1', 'http://b:2']);
    expect(resolveOptions({ targets: ['ws://a:1'] }).targets).toEqual(['http://a:1']);
    rejects({ targets: 'not a url' }, /is not a URL; write it like http:\/\/127\.0\.0\.1:3000/);
    rejects({ targets: 'ftp://a:1' }, /must start with http/);
    rejects({ targets: 'http://a:1/socket.io' }, /must not have a path/);
    rejects({ targets: ' , ' }, /needs at least one URL/);
  });

  it('derives the rooms client count and refuses a contradicting --clients', () => {
    const o = resolveOptions({ scenario: 'rooms', channels: 2, roomsPerChannel: 3, membersPerRoom: 4 });
    expect(o.clients).toBe(24);
    expect(resolveOptions({ scenario: 'rooms', channels: 2, roomsPerChannel: 3, membersPerRoom: 4, clients: 24 }).clients).toBe(24);
    rejects({ scenario: 'rooms', channels: 2, roomsPerChannel: 3, membersPerRoom: 4, clients: 10 }, /2 × 3 × 4 = 24\); drop --clients 10/);
  });

  it('places clients round-robin by default, or every room on one target with --placement room-local', () => {
    const targets = 'http://a:1,http://b:2,http://c:3';
    const rooms = { scenario: 'rooms', channels: 2, roomsPerChannel: 2, membersPerRoom: 3, targets } as const;
    const spread = resolveOptions(rooms);
    expect(Array.from({ length: 12 }, (_, i) => targetOf(spread, i))).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(clientsPerTarget(spread)).toEqual([4, 4, 4]);
    const local = resolveOptions({ ...rooms, placement: 'room-local' });
    // Room r (members 3r … 3r+2) on target r mod 3.
    expect(Array.from({ length: 12 }, (_, i) => targetOf(local, i))).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0]);
    expect(clientsPerTarget(local)).toEqual([6, 3, 3]);
    rejects({ ...rooms, placement: 'nearby' as never }, /--placement must be one of spread, room-local, got "nearby"/);
    rejects(
      { ...rooms, channels: 1, placement: 'room-local' },
      /--placement room-local puts each room on one target: 2 room\(s\) leave 1 of 3 targets without clients/,
    );
    rejects({ scenario: 'fanout', placement: 'room-local' }, /--placement does not apply to --scenario fanout \(it is used by rooms\)/);
  });

  it('refuses options that do not apply to the scenario, saying which do', () => {
    rejects({ scenario: 'join-storm', rate: 5 }, /--rate does not apply to --scenario join-storm .*remove it/);
    rejects({ scenario: 'fanout', membersPerRoom: 5 }, /--members-per-room does not apply/);
    rejects({ scenario: 'connect', acks: false }, /--no-acks does not apply/);
  });

  it('explains every other bad value', () => {
    rejects({ duration: '10s', messages: 5 }, /either --duration or --messages, not both/);
    rejects({ clients: 0 }, /--clients must be a whole number from 1/);
    rejects({ clients: 2.5 }, /--clients must be a whole number/);
    rejects({ clients: 3, publishers: 4 }, /--publishers \(4\) cannot exceed --clients \(3\)/);
    rejects({ scenario: 'churn', clients: 10, publishers: 6 }, /use --publishers ≤ 5/);
    rejects({ clients: 2, workers: 3 }, /--workers \(3\) cannot exceed --clients/);
    rejects({ size: 10 }, /--size must be a whole number from 32 to 65536/);
    rejects({ rate: 0 }, /--rate must be a number > 0/);
    rejects({ duration: 'soon' }, /--duration must be a duration such as 10s/);
    rejects({ rate: 1, duration: '100ms' }, /sends no message; raise one of them/);
    rejects({ scenario: 'everything' as never }, /--scenario must be one of fanout, rooms, join-storm, churn, connect/);
    rejects({ transport: 'carrier-pigeon' as never }, /--transport must be one of websocket, polling, both/);
    rejects({ ackTimeout: '10ms' }, /--ack-timeout must be at least 100ms/);
  });
});

describe('parseCliArgs', () => {
  it('maps every flag onto the programmatic options, numbers as numbers', () => {
    const args = parseCliArgs([
      '--targets',
      'http://127.0.0.1:3001,http://127.0.0.1:3002',
      '--scenario',
      'churn',
      '--clients',
      '200',
      '--connect-rate',
      '50',
      '--transport',
      'both',
      '--rate',
      '12.5',
      '--size',
      '256',
      '--messages',
      '1000',
      '--warmup',
      '2s',
      '--drain',
      '3s',
      '--ack-timeout',
      '5s',
      '--publishers',
      '3',
      '--workers',
      '2',
      '--no-acks',
      '--json',
      'r.json',
      '--html',
      'r.html',
      '--quiet',
    ]);
    expect(args).toEqual({
      help: false,
      options: {
        targets: 'http://127.0.0.1:3001,http://127.0.0.1:3002',
        scenario: 'churn',
        clients: 200,
        connectRate: 50,
        transport: 'both',
        rate: 12.5,
        size: 256,
        messages: 1000,
        warmup: '2s',
        drain: '3s',
        ackTimeout: '5s',
        publishers: 3,
        workers: 2,
        acks: false,
        json: 'r.json',
        html: 'r.html',
        quiet: true,
      },
    });
    if (!args.help) expect(resolveOptions(args.options)).toMatchObject({ messages: 1000, durationMs: null, warmupMs: 2000, acks: false });
  });

  it('reads the rooms flags', () => {
    const args = parseCliArgs([
      '--scenario',
      'rooms',
      '--channels',
      '2',
      '--rooms-per-channel',
      '5',
      '--members-per-room',
      '3',
      '--placement',
      'room-local',
      '--duration',
      '2m',
    ]);
    expect(args).toEqual({
      help: false,
      options: { scenario: 'rooms', channels: 2, roomsPerChannel: 5, membersPerRoom: 3, placement: 'room-local', duration: '2m' },
    });
  });

  it('refuses what it cannot read, pointing at --help', () => {
    expect(() => parseCliArgs(['--bogus'])).toThrow(CliUsageError);
    expect(() => parseCliArgs(['--bogus'])).toThrow(/unknown option --bogus\. Run with --help/);
    expect(() => parseCliArgs(['--clients', 'many'])).toThrow(/--clients must be a number, got "many"/);
    expect(() => parseCliArgs(['--clients'])).toThrow(/--clients needs a value/);
    expect(() => parseCliArgs(['fanout'])).toThrow(/unexpected argument "fanout"/);
    expect(parseCliArgs(['--help'])).toEqual({ help: true });
    expect(parseCliArgs(['-h'])).toEqual({ help: true });
  });

  it('--help lists every option with its default', () => {
    const help = helpText();
    for (const spec of OPTION_SPECS) {
      const line = help.split('\n').find((l) => l.trimStart().startsWith(`${spec.flag}${spec.value ? ` ${spec.value}` : ''} `));
      expect(line, spec.flag).toBeDefined();
      expect(line).toContain(`(default: ${spec.defaultText})`);
    }
  });
});
