import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, registerTeardown, startCluster, startTestRedis, uniqueKeyPrefix } from '@realtime/testing';
import { OPTION_SPECS, runLoadTest, type LatencyPercentiles, type LoadTestReport } from '../src/index.js';
import { bars, cells, element, expectNoData, seriesPoints, textOf } from './html-page.js';

/**
 * The load tester against a real cluster: two server processes on one Redis.
 * Each run has its own channel names (a random run id), so runs share the
 * cluster without seeing each other. Runs are short: the file must stay
 * well under a minute on a busy 2-core machine.
 */
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

let urls: string[];

beforeAll(async () => {
  const redis = await startTestRedis();
  registerTeardown(() => redis.stop());
  // RATE_LIMIT_CLOSE_AFTER=0: the rate-limit run below counts refusals, which the default would
  // end after 200 by closing the publisher (that close is server-close.test.ts's subject).
  const nodes = await startCluster(2, {
    redisUrl: redis.url,
    keyPrefix: uniqueKeyPrefix('loadtest'),
    namePrefix: 'lt',
    env: { RATE_LIMIT_CLOSE_AFTER: '0' },
  });
  urls = nodes.map((n) => n.url);
});

function expectSanePercentiles(l: LatencyPercentiles): void {
  expect(l.count).toBeGreaterThan(0);
  expect(l.min).toBeGreaterThanOrEqual(0);
  expect(l.p50).toBeGreaterThan(0);
  expect(l.p50).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.p999);
  expect(l.p999).toBeLessThanOrEqual(l.max);
  // Local delivery on a busy machine: well under the drain, never seconds.
  expect(l.max).toBeLessThan(2000);
}

function expectClean(report: LoadTestReport): void {
  expect(report.failedChecks).toEqual([]);
  expect(report.passed).toBe(true);
  expect(report.lost).toBe(0);
  expect(report.duplicated).toBe(0);
  expect(report.outOfOrder).toBe(0);
  expect(report.failures.total).toBe(0);
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runCli(args: string[]): Promise<CliRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  registerTeardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started })));
}

describe('realtime-loadtest against a 2-node cluster', () => {
  it('fanout: 20 clients for 2 s, nothing lost, every message delivered to every member', async () => {
    const report = await runLoadTest({
      targets: urls,
      scenario: 'fanout',
      clients: 20,
      rate: 20,
      duration: '2s',
      warmup: '500ms',
      drain: '5s',
      quiet: true,
    });
    expectClean(report);
    expect(report.messages.sent).toBe(50); // 10 warm-up + 40 measured, on the schedule
    expect(report.messages.measured).toBe(40);
    expect(report.deliveries.total).toBe(report.messages.sent * 20);
    expect(report.deliveries.expected).toBe(report.messages.sent * 20);
    expect(report.deliveries.measured).toBe(report.messages.measured * 20);
    expect(report.deliveriesPerSecond).toBeGreaterThan(200);
    expectSanePercentiles(report.latency);
    expect(report.perTarget.map((t) => [t.target, t.clients, t.deliveries, t.lost])).toEqual(
      urls.map((u) => [u, 10, report.messages.sent * 10, 0]),
    );
    for (const t of report.perTarget) expectSanePercentiles(t.latency);
    expect(report.connect).toMatchObject({ attempts: 20, ok: 20, failed: 0 });
    expect(report.joins).toMatchObject({ attempts: 20, ok: 20, failed: 0 });
    expect(report.connect.perSecond).toBeGreaterThan(0);
    expect(report.generator.workers).toHaveLength(1);
    expect(report.generator.workers[0]!.pid).toBe(process.pid);
    expect(report.generator.workers[0]!.userMs + report.generator.workers[0]!.systemMs).toBeGreaterThan(0);
    expect(report.timeline.reduce((a, p) => a + p.deliveries, 0)).toBe(report.deliveries.total);
    expect(report.timeline.reduce((a, p) => a + p.sent, 0)).toBe(report.messages.sent);
  });

  it('rooms: 4 rooms of 3 in 2 channels, messages spread over the rooms, nothing lost', async () => {
    const report = await runLoadTest({
      targets: urls,
      scenario: 'rooms',
      channels: 2,
      roomsPerChannel: 2,
      membersPerRoom: 3,
      rate: 40,
      messages: 40,
      warmup: '0s',
      quiet: true,
    });
    expectClean(report);
    expect(report.clients.planned).toBe(12);
    expect(report.messages.sent).toBe(40);
    expect(report.deliveries.total).toBe(40 * 3);
    expect(report.deliveries.expected).toBe(40 * 3);
    expectSanePercentiles(report.latency);
  });

  it('rooms --placement room-local: every room on one node, its senders too; onPhase runs with everyone joined and still connected', async () => {
    const gauge = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const nodes = (): Promise<{ sockets: number; rooms: number }[]> =>
      Promise.all(
        urls.map(async (url) => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return { sockets: gauge(text, 'realtime_connected_sockets'), rooms: gauge(text, 'realtime_rooms') };
        }),
      );
    const seen: { phase: string; nodes: { sockets: number; rooms: number }[] }[] = [];
    const report = await runLoadTest({
      targets: urls,
      scenario: 'rooms',
      channels: 1,
      roomsPerChannel: 3,
      membersPerRoom: 2,
      placement: 'room-local',
      rate: 30,
      messages: 30,
      warmup: '0s',
      quiet: true,
      onPhase: async (phase) => {
        seen.push({ phase, nodes: await nodes() });
      },
    });
    expectClean(report);
    // Rooms 0 and 2 (4 clients) on the first node, room 1 (2 clients) on the second, as the nodes
    // themselves count them; spread would put 3 clients on each and every room on both.
    const placed = [
      { sockets: 4, rooms: 2 },
      { sockets: 2, rooms: 1 },
    ];
    expect(seen).toEqual([
      { phase: 'sending', nodes: placed },
      { phase: 'drained', nodes: placed },
    ]);
    expect(report.perTarget.map((t) => t.clients)).toEqual([4, 2]);
    // Message k goes to room k mod 3 from one of its members: the first node published rooms 0 and 2's 20, the second room 1's 10.
    expect(report.perTarget.map((t) => t.messagesSent)).toEqual([20, 10]);
    expect(report.perTarget.map((t) => t.deliveries)).toEqual([40, 20]);
    expect(report.deliveries.expected).toBe(30 * 2);
  });

  it('an onPhase hook that throws fails the run, saying where', async () => {
    const run = runLoadTest({
      targets: urls,
      scenario: 'fanout',
      clients: 2,
      rate: 20,
      messages: 5,
      warmup: '0s',
      quiet: true,
      onPhase: (phase) => {
        if (phase === 'drained') throw new Error('scrape failed');
      },
    });
    await expect(run).rejects.toThrow(/the onPhase hook failed at "drained": scrape failed/);
  });

  it('join-storm: 100 clients join at once; every count settles at 100, never goes down, every join acknowledged', async () => {
    const report = await runLoadTest({ targets: urls, scenario: 'join-storm', clients: 100, connectRate: 1000, drain: '5s', quiet: true });
    expectClean(report);
    const p = report.presence!;
    expect(p).toMatchObject({
      members: 100,
      expected: 100,
      settled: true,
      settledMembers: 100,
      settledCount: 100,
      finalCounts: { '100': 100 },
      acked: 100,
      ackFailures: 0,
      decreases: 0,
      membersWithDecrease: 0,
    });
    expect(p.timeToAckAllMs).toBeGreaterThanOrEqual(0);
    expect(p.timeToSettleMs).toBeGreaterThanOrEqual(0);
    expect(p.lastAckToSettleMs).not.toBeNull();
    expect(p.lastJoinEventToSettleMs).not.toBeNull();
    expect(p.onlineUsersPerMember.min).toBeGreaterThanOrEqual(1);
    // Every member gets at least its own join-channel, the first joiner all 100.
    expect(p.joinEventsPerMember.min).toBeGreaterThanOrEqual(1);
    expect(p.joinEventsPerMember.max).toBe(100);
    expect(report.joins).toMatchObject({ attempts: 100, ok: 100, failed: 0 });
    // Every join's emit → ack time, in the bins as in the percentiles. They are the joins' figures: those
    // pass through HDR's encoding between processes, which keeps 3 significant digits.
    expectSanePercentiles(p.ackLatency);
    for (const [stat, value] of Object.entries(report.joins.latency)) {
      expect(Math.abs(p.ackLatency[stat as keyof LatencyPercentiles] - value), stat).toBeLessThanOrEqual(value / 500 + 0.001);
    }
    expect(p.ackLatencyBins.reduce((a, b) => a + b.count, 0)).toBe(100);
    // The counts over time start with nobody told anything and end with everyone at 100.
    const points = p.countOverTime.points;
    expect(points[0]).toMatchObject({ atMs: 0, told: 0, max: 0 });
    expect(points.at(-1)).toMatchObject({ told: 100, min: 100, median: 100, max: 100, atExpected: 100 });
    expect(points.at(-1)!.atMs).toBeGreaterThanOrEqual(p.timeToSettleMs!);
    expect(points.every((q, i) => i === 0 || q.atMs > points[i - 1]!.atMs)).toBe(true);
    expect(p.joinEventsPerMember.distribution.reduce((a, b) => a + b.count, 0)).toBe(100);
    expect(p.onlineUsersPerMember.distribution.reduce((a, b) => a + b.count, 0)).toBe(100);
  });

  it('join-storm --html, 2 workers: the page shows the ack latency, the counts reaching N, presence events per member and the verdict', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loadtest-storm-'));
    registerTeardown(() => rm(dir, { recursive: true, force: true }));
    const [json, html] = [join(dir, 'storm.json'), join(dir, 'storm.html')];
    const run = await runLoadTest({
      targets: urls,
      scenario: 'join-storm',
      clients: 80,
      connectRate: 1000,
      workers: 2,
      quiet: true,
      json,
      html,
    });
    expectClean(run);
    const report = JSON.parse(await readFile(json, 'utf8')) as LoadTestReport;
    const p = report.presence!;
    const page = await readFile(html, 'utf8');

    // Ack latency: a histogram of all 80 joins, its bars where the latencies are, and the JSON's percentiles.
    const ack = element(page, 'figure', 'storm-ack-latency')!;
    expect(ack).toContain('<svg');
    const ackBars = bars(ack);
    expect(ackBars.reduce((a, b) => a + b.count, 0)).toBe(80);
    const filled = ackBars.filter((b) => b.count > 0);
    expect(filled[0]!.from).toBeLessThanOrEqual(p.ackLatency.min);
    expect(filled.at(-1)!.to).toBeGreaterThan(p.ackLatency.max * 0.99);
    const ackCells = cells(element(page, 'table', 'storm-ack-percentiles')!);
    expect(ackCells.count).toBe('80');
    for (const stat of ['p50', 'p90', 'p99', 'max'] as const) expect(ackCells[stat]).toBe(`${p.ackLatency[stat]} ms`);
    expect(p.ackLatency.count).toBe(80);

    // The count every member sees: min, median and max all end on the N = 80 line; the settle time is marked.
    const counts = element(page, 'figure', 'storm-counts')!;
    expect(counts).toContain('N = 80');
    const nLine = /<line class="expected" data-value="80"[^>]* y1="([\d.]+)"/.exec(counts);
    expect(nLine).not.toBeNull();
    for (const series of ['min', 'median', 'max']) {
      const line = seriesPoints(counts, series);
      expect(line.length, series).toBeGreaterThan(1);
      expect(line[0]![1], `${series} starts below N`).toBeGreaterThan(Number(nLine![1]));
      expect(line.at(-1)![1], `${series} ends at N`).toBe(Number(nLine![1]));
    }
    expect(counts).toContain(`data-value="${p.timeToSettleMs}"`);
    expect(textOf(counts)).toContain(`Every member's count settled at 80, ${p.timeToSettleMs} ms after the storm started`);

    // Presence events per member: the JSON's figures in the table, every member in the histograms.
    const perMember = element(page, 'table', 'storm-events-per-member')!;
    const joinRow = cells(/<tr data-event="join-channel">[\s\S]*?<\/tr>/.exec(perMember)![0]);
    const onlineRow = cells(/<tr data-event="online-users">[\s\S]*?<\/tr>/.exec(perMember)![0]);
    for (const stat of ['min', 'median', 'mean', 'max'] as const) {
      expect(joinRow[stat]).toBe(String(p.joinEventsPerMember[stat]));
      expect(onlineRow[stat]).toBe(String(p.onlineUsersPerMember[stat]));
    }
    expect(p.joinEventsPerMember.max).toBe(80);
    expect(bars(element(page, 'figure', 'storm-join-events')!).reduce((a, b) => a + b.count, 0)).toBe(80);
    expect(bars(element(page, 'figure', 'storm-online-users-events')!).reduce((a, b) => a + b.count, 0)).toBe(80);

    // The verdict, in words.
    const verdict = textOf(element(page, 'section', 'verdict')!);
    expect(verdict).toMatch(/^ PASS Every check held: /);
    expect(verdict).toContain(`✓ all 80 joins acknowledged, the last ${p.timeToAckAllMs} ms after the storm started`);
    expect(verdict).toContain(`✓ every member's count settled at 80, ${p.timeToSettleMs} ms after the storm started`);
    expect(verdict).toContain("✓ no member's count ever went down");

    // A storm sends no messages: those charts are notes, not empty frames.
    for (const id of ['latency-table', 'latency-over-time', 'throughput-over-time', 'sent-over-time']) {
      expectNoData(page, id, 'the join-storm scenario sends no messages');
    }
    // The page is the JSON report's run.
    const embedded = /<script type="application\/json" id="report">([\s\S]*?)<\/script>/.exec(page)![1]!;
    expect((JSON.parse(embedded) as LoadTestReport).presence).toEqual(p);
  });

  it('churn: clients leave, rejoin, disconnect and reconnect while others publish, with no false losses', async () => {
    const report = await runLoadTest({
      targets: urls,
      scenario: 'churn',
      clients: 20,
      publishers: 2,
      rate: 20,
      duration: '3s',
      warmup: '0s',
      drain: '3s',
      quiet: true,
    });
    expectClean(report);
    const churn = report.churn!;
    expect(churn.churners).toBe(10);
    expect(churn.leaves + churn.disconnects).toBeGreaterThan(0);
    // A churner away when sending stops stays away.
    expect(churn.rejoins).toBeLessThanOrEqual(churn.leaves);
    expect(churn.rejoins).toBeGreaterThanOrEqual(churn.leaves - churn.churners);
    expect(churn.reconnects).toBeLessThanOrEqual(churn.disconnects);
    expect(churn.reconnects).toBeGreaterThanOrEqual(churn.disconnects - churn.churners);
    expect(churn.spanMs).toBeGreaterThanOrEqual(1000);
    // The 10 stable members owe every message; churners only some.
    expect(report.deliveries.expected).toBeGreaterThanOrEqual(report.messages.sent * 10);
    expect(report.deliveries.total).toBeGreaterThanOrEqual(report.deliveries.expected);
    expect(report.connect.ok).toBe(20 + churn.reconnects);
  });

  it('connect: a ramp of 60 connections + joins, with rates', async () => {
    const report = await runLoadTest({
      targets: urls,
      scenario: 'connect',
      clients: 60,
      connectRate: 200,
      channels: 3,
      transport: 'both',
      quiet: true,
    });
    expectClean(report);
    expect(report.connect).toMatchObject({ attempts: 60, ok: 60, failed: 0 });
    expect(report.joins).toMatchObject({ attempts: 60, ok: 60, failed: 0 });
    expect(report.connect.perSecond).toBeGreaterThan(10);
    expect(report.joins.perSecond).toBeGreaterThan(10);
    expect(report.connect.latency.count).toBe(60);
    expect(report.clients.peakConnected).toBe(60);
  });

  it('--workers 2: two forked generators, results merged (deliveries add up, histograms merged)', async () => {
    const report = await runLoadTest({
      targets: urls,
      scenario: 'fanout',
      clients: 20,
      publishers: 2,
      rate: 20,
      duration: '1500ms',
      warmup: '0s',
      workers: 2,
      quiet: true,
    });
    expectClean(report);
    expect(report.messages.sent).toBe(30);
    expect(report.deliveries.total).toBe(30 * 20);
    expect(report.latency.count).toBe(report.deliveries.measured);
    const pids = report.generator.workers.map((w) => w.pid);
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);
    expect(report.clients.peakConnected).toBe(20);
  });

  it('the CI gate fails a run whose messages the server refused (rate limit), and says why', async () => {
    const report = await runLoadTest({
      targets: urls,
      scenario: 'fanout',
      clients: 2,
      // One publisher at 2,000 msg/s against the server's default 200/s (burst 400) per connection.
      rate: 2000,
      messages: 2000,
      warmup: '0s',
      quiet: true,
    });
    expect(report.passed).toBe(false);
    expect(report.failures.byReason['send: RATE_LIMITED']).toBeGreaterThan(0);
    expect(report.messages.refused).toBe(report.failures.byReason['send: RATE_LIMITED']);
    expect(report.failedChecks.join('\n')).toMatch(/messages refused by the server/);
    expect(report.warnings.join('\n')).toMatch(/RATE_LIMIT_EVENTS_PER_SECOND/);
    // Refused messages are owed to nobody: the accepted ones all arrived.
    expect(report.lost).toBe(0);
    expect(report.deliveries.total).toBe((2000 - report.messages.refused) * 2);
  });
});

describe('the realtime-loadtest CLI', () => {
  it('--help lists every option with its default', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const spec of OPTION_SPECS) {
      expect(run.stdout).toContain(spec.flag);
      expect(run.stdout).toContain(`(default: ${spec.defaultText})`);
    }
  });

  it('a target with nothing listening ends the run quickly with a clear error and a non-zero exit', async () => {
    const port = await freePort();
    const run = await runCli(['--targets', `http://127.0.0.1:${port}`, '--clients', '5', '--duration', '30s']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`cannot connect to any target:`);
    expect(run.stderr).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(run.stderr).toMatch(/Is a server listening there\? Check --targets/);
    expect(run.ms).toBeLessThan(10_000);
  });

  it('bad options exit 2 with what to do', async () => {
    const run = await runCli(['--scenario', 'join-storm', '--rate', '5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--rate does not apply to --scenario join-storm .* remove it/);
  });

  it('a passing run exits 0, prints the summary and writes the JSON and HTML reports', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loadtest-'));
    registerTeardown(() => rm(dir, { recursive: true, force: true }));
    const json = join(dir, 'out', 'report.json');
    const html = join(dir, 'report.html');
    const run = await runCli([
      '--targets',
      urls.join(','),
      '--scenario',
      'fanout',
      '--clients',
      '10',
      '--rate',
      '20',
      '--duration',
      '1s',
      '--warmup',
      '0s',
      '--json',
      json,
      '--html',
      html,
    ]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/latency p99 \(ms\)/);
    expect(run.stdout).toMatch(/result\s+PASS/);

    const report = JSON.parse(await readFile(json, 'utf8')) as LoadTestReport;
    expect(report).toMatchObject({ tool: 'realtime-loadtest', scenario: 'fanout', passed: true, lost: 0, duplicated: 0, outOfOrder: 0 });
    for (const field of ['lost', 'duplicated', 'outOfOrder', 'deliveriesPerSecond'] as const) expect(typeof report[field]).toBe('number');
    for (const field of ['p50', 'p90', 'p99', 'p999', 'max'] as const) expect(typeof report.latency[field]).toBe('number');
    expect(report.deliveries.total).toBe(20 * 10);
    expect(report.connect).toMatchObject({ ok: 10, failed: 0 });
    expect(typeof report.connect.perSecond).toBe('number');
    expect(typeof report.joins.perSecond).toBe('number');
    expect(report.failures).toEqual({ total: 0, byReason: {}, examples: {} });
    expect(report.generator.workers[0]).toMatchObject({ worker: 0 });
    expect(typeof report.generator.workers[0]!.busyPercent).toBe('number');
    expect(report.options).toMatchObject({ targets: urls, clients: 10, rate: 20, durationMs: 1000, warmupMs: 0 });
    expect(report.perTarget).toHaveLength(2);
    expect(report.timeline.length).toBeGreaterThan(0);
    expect(report.presence).toBeNull();

    const page = await readFile(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('Latency over time');
    expect(page).toContain('Throughput over time');
    expect(page.match(/<svg /g)?.length).toBeGreaterThanOrEqual(2);
    // Self-contained: nothing loaded from anywhere.
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import/);
  });
});
