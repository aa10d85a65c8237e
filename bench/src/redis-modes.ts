/**
 * Two settings of ours side by side, in the same run, alternating: the
 * fanout knee and the rooms knee with room-local placement, server CPU per
 * delivery, Redis CPU per message and inbound broker traffic per node.
 * `npm run bench -- --redis cluster` compares ours on a local Redis Cluster
 * (3 masters + 3 replicas; REDIS_CLUSTER_NODES, so ADAPTER_MODE=sharded)
 * with ours on one redis-server (ADAPTER_MODE=classic, its default) as the
 * reference; `--redis recovery` compares RECOVERY_WINDOW_MS on with it off,
 * on one redis-server. Every figure is read over the sending window only
 * (the load tester's onPhase hooks: from "every client joined" to "drain
 * over", clients still connected), after one unmeasured warm-up step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { runLoadTest, type LoadTestOptions, type LoadTestReport } from '@realtime/loadtest';
import { startBenchCluster, type BenchCluster, type BenchRedisTarget } from './bench-cluster.js';
import { inboundDelta, redisCpuSeconds, scrapeNode, type BrokerInbound, type NodeSample } from './node-metrics.js';
import { formatNumber, formatSummary, summarize } from './statistics.js';

/** The reference (`a`) and the setting compared with it (`b`): their ratio is b/a. */
export type RedisMode = 'a' | 'b';
export const REDIS_MODE_SECTIONS = ['fanout', 'rooms'] as const;

export interface RedisModeTarget {
  /** Short name for progress lines (`rooms ours@<name> …`). */
  name: string;
  /** Column header in the table. */
  column: string;
  target: BenchRedisTarget;
  /** `host:port` of every redis-server of this mode (1 or 6), for Redis CPU. */
  servers: readonly string[];
  /** Settings of this mode's nodes. */
  env: Record<string, string>;
}

export interface RedisModesOptions {
  quick: boolean;
  reps: number;
  /** Which of fanout, rooms to run. */
  sections: ReadonlySet<string>;
  modes: Record<RedisMode, RedisModeTarget>;
  /** Header of the ratio column, e.g. `cluster/standalone`. */
  ratioColumn: string;
  /** Targets for b/a by figure (`serverCpu`: server CPU per delivery), as `≤ 1.1×`; none is informational. */
  targets?: { serverCpu?: number };
  log: (line: string) => void;
}

/** The table (markdown) and the settings it was measured with, for the results file. */
export interface RedisModesResult {
  header: string;
  lines: string[];
  nodes: number;
}

const NODES = 2;
/**
 * After every join is acknowledged, count announcements (PRESENCE_ANNOUNCE_INTERVAL_MS,
 * 250 ms by default) and join events may still be on their way: the window starts after them.
 */
export const SETTLE_MS = 500;
const MODES: readonly RedisMode[] = ['a', 'b'];

/** What one load test cost, over its sending window. */
interface Window {
  serverCpuMs: number;
  redisCpuMs: number;
  /** Per node, in target order. */
  inbound: BrokerInbound[];
}

interface Step {
  rate: number;
  report: LoadTestReport;
  window: Window;
  ok: boolean;
}

/**
 * Runs one load test; at its `sending` and `drained` hooks reads each node's
 * `/metrics` (broker counters, process CPU) and every redis-server's INFO cpu.
 */
async function measuredRun(cluster: BenchCluster, redis: readonly Redis[], options: LoadTestOptions): Promise<Omit<Step, 'rate' | 'ok'>> {
  const sample = async (): Promise<{ nodes: NodeSample[]; redisCpuSeconds: number }> => {
    const [nodes, redisCpu] = await Promise.all([Promise.all(cluster.urls.map(scrapeNode)), redisCpuSeconds(redis)]);
    return { nodes, redisCpuSeconds: redisCpu };
  };
  let before: Awaited<ReturnType<typeof sample>> | undefined;
  let window: Window | undefined;
  const report = await runLoadTest({
    targets: cluster.urls,
    quiet: true,
    workers: 2,
    ...options,
    onPhase: async (phase) => {
      if (phase === 'sending') {
        await sleep(SETTLE_MS);
        before = await sample();
        return;
      }
      if (before === undefined) throw new Error('drained before sending');
      const after = await sample();
      const start = before;
      window = {
        serverCpuMs: after.nodes.reduce((a, n, t) => a + (n.cpuSeconds - (start.nodes[t] as NodeSample).cpuSeconds) * 1000, 0),
        redisCpuMs: (after.redisCpuSeconds - start.redisCpuSeconds) * 1000,
        inbound: after.nodes.map((n, t) => inboundDelta((start.nodes[t] as NodeSample).inbound, n.inbound)),
      };
    },
  });
  if (window === undefined) throw new Error('the load test ended without its drained hook');
  return { report, window };
}

const published = (report: LoadTestReport): number => report.messages.sent - report.messages.refused;

interface Scenario {
  section: (typeof REDIS_MODE_SECTIONS)[number];
  title: string;
  rates: number[];
  env: Record<string, string>;
  options(rate: number): LoadTestOptions;
}

function scenarios(quick: boolean): Scenario[] {
  const duration = quick ? '3s' : '5s';
  const fanoutClients = quick ? 200 : 1000;
  return [
    {
      section: 'fanout',
      title: `${fanoutClients} members of one channel, spread over both nodes; PRESENCE_EVENTS_MAX_MEMBERS=100`,
      // The same steps as the fanout section of the ours/baseline table.
      rates: quick ? [20, 50, 100] : [40, 50, 60, 70, 80, 90, 100, 120, 150, 200, 300],
      env: { PRESENCE_EVENTS_MAX_MEMBERS: '100' },
      options: (rate) => ({
        scenario: 'fanout',
        clients: fanoutClients,
        rate,
        publishers: Math.max(1, Math.ceil(rate / 50)),
        size: 100,
        duration,
        warmup: '1s',
        // Set-up is outside the window: connect as fast as possible.
        connectRate: 0,
      }),
    },
    {
      section: 'rooms',
      title: '100 rooms × 10, room-local: each room, its senders included, on one node',
      rates: quick ? [500, 1000] : [1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000],
      env: {},
      options: (rate) => ({
        scenario: 'rooms',
        channels: 10,
        roomsPerChannel: 10,
        membersPerRoom: 10,
        placement: 'room-local',
        rate,
        size: 100,
        duration,
        warmup: '1s',
        connectRate: 0,
      }),
    },
  ];
}

/** Figures of one scenario in one mode and repetition. */
interface Measurement {
  knee: number;
  serverCpuPerDeliveryUs: number;
  /** Server CPU per delivery at every rate step that ran, by rate, and whether it met p99 ≤ 100 ms with nothing lost. */
  serverCpuByRate: Map<number, { us: number; ok: boolean }>;
  redisCpuPerMessageUs: number;
  /** Per node: inbound broadcasts per message published, and of them other nodes' publications. */
  inboundPerMessage: number[];
  foreignPerMessage: number[];
}

async function measure(scenario: Scenario, target: RedisModeTarget, keyPrefix: string, log: (line: string) => void): Promise<Measurement> {
  const env = { ...scenario.env, ...target.env, METRICS_PORT: '' };
  const cluster = await startBenchCluster('ours', { ...target.target, count: NODES, keyPrefix, env });
  const redis = target.servers.map((address) => {
    const [host, port] = address.split(':');
    return new Redis({ host, port: Number(port), maxRetriesPerRequest: 1 });
  });
  const steps: Step[] = [];
  try {
    // A fresh node's first load runs cold (unoptimized) code, and the more code a mode runs per message the
    // longer that lasts: one unmeasured step first, so the first measured one is not the warm-up.
    const warmUpRate = scenario.rates[0] ?? 0;
    log(`${scenario.section} ours@${target.name}: warm-up at ${warmUpRate} msg/s (not measured)`);
    await measuredRun(cluster, redis, scenario.options(warmUpRate));
    for (const rate of scenario.rates) {
      const run = await measuredRun(cluster, redis, scenario.options(rate));
      const { report, window } = run;
      const ok = report.lost === 0 && report.latency.p99 <= 100;
      steps.push({ rate, ok, ...run });
      const messages = published(report);
      const perNode = window.inbound
        .map(
          (inbound, t) => `node ${t + 1} ${formatNumber(inbound.broadcast / messages, 2)} (own ${report.perTarget[t]?.messagesSent ?? 0})`,
        )
        .join(', ');
      const presence = window.inbound.reduce((a, i) => a + i.presence + i.other, 0);
      log(
        `${scenario.section} ours@${target.name} ${rate} msg/s: ${report.deliveriesPerSecond} deliveries/s, p99 ${report.latency.p99} ms, lost ${report.lost}, ` +
          `server CPU ${formatNumber((window.serverCpuMs * 1000) / Math.max(1, report.deliveries.total), 2)} µs/delivery, ` +
          `Redis CPU ${formatNumber((window.redisCpuMs * 1000) / Math.max(1, messages), 1)} µs/message; ` +
          `inbound broadcasts per message published: ${perNode}; presence+other inbound ${presence}` +
          `${report.generator.saturated ? ' (generator saturated)' : ''}`,
      );
      if (!ok) break;
    }
  } finally {
    for (const client of redis) client.disconnect();
    await cluster.stop();
  }
  const okSteps = steps.filter((s) => s.ok);
  const knee = okSteps.at(-1);
  // CPU is a cost per delivery whatever the latency: below the lowest step's knee, read it there.
  const costStep = knee ?? steps[0];
  if (costStep === undefined) throw new Error(`${scenario.section}: no rate step ran`);
  // Counts of messages do not depend on the rate: every step adds to them.
  const allPublished = steps.reduce((a, s) => a + published(s.report), 0);
  const perNode = (f: (s: Step, t: number) => number): number[] =>
    Array.from({ length: NODES }, (_, t) => steps.reduce((a, s) => a + f(s, t), 0) / allPublished);
  const cpuPerDelivery = (s: Step): number => (s.window.serverCpuMs * 1000) / Math.max(1, s.report.deliveries.total);
  return {
    serverCpuByRate: new Map(steps.map((s) => [s.rate, { us: cpuPerDelivery(s), ok: s.ok }])),
    knee: knee?.report.deliveriesPerSecond ?? 0,
    serverCpuPerDeliveryUs: cpuPerDelivery(costStep),
    redisCpuPerMessageUs: (costStep.window.redisCpuMs * 1000) / published(costStep.report),
    inboundPerMessage: perNode((s, t) => s.window.inbound[t]?.broadcast ?? 0),
    foreignPerMessage: perNode((s, t) => Math.max(0, (s.window.inbound[t]?.broadcast ?? 0) - (s.report.perTarget[t]?.messagesSent ?? 0))),
  };
}

interface Row {
  section: string;
  metric: string;
  unit: string;
  digits: number;
  values: Record<RedisMode, number[]>;
  /** b/a at most this to meet the target. */
  target?: number;
}

export async function runRedisModes(options: RedisModesOptions): Promise<RedisModesResult> {
  const rows: Row[] = [];
  const row = (section: string, metric: string, unit: string, digits: number): Row => {
    let r = rows.find((x) => x.section === section && x.metric === metric);
    if (r === undefined) {
      r = { section, metric, unit, digits, values: { a: [], b: [] } };
      rows.push(r);
    }
    return r;
  };
  const selected = scenarios(options.quick).filter((s) => options.sections.has(s.section));
  // Rows in a fixed order, whichever mode runs first.
  const rowsOf = new Map(
    selected.map((scenario) => [
      scenario.section,
      {
        knee: row(scenario.section, `deliveries/s at p99 ≤ 100 ms (${scenario.title})`, '/s', 0),
        serverCpu: row(scenario.section, 'server CPU per delivery (both nodes, sending window at the knee)', 'µs', 2),
        // Each mode's own knee may be a different rate, and part of a node's CPU is per second, not per
        // delivery (pings, heartbeats, timers): the target is read where both carried the same load.
        sameRateCpu: Object.assign(
          row(
            scenario.section,
            'server CPU per delivery at the same rate (the highest step both passed, else the lowest; per repetition)',
            'µs',
            2,
          ),
          { target: options.targets?.serverCpu },
        ),
        redisCpu: row(scenario.section, 'Redis CPU per message published (every redis-server, sending window at the knee)', 'µs', 1),
        inbound: Array.from({ length: NODES }, (_, t) =>
          row(scenario.section, `inbound broadcasts per message published, node ${t + 1}`, '', 2),
        ),
        foreign: Array.from({ length: NODES }, (_, t) =>
          row(scenario.section, `… of them other nodes' publications, node ${t + 1}`, '', 2),
        ),
      },
    ]),
  );
  let prefix = 0;
  for (let rep = 0; rep < options.reps; rep++) {
    const order = rep % 2 === 0 ? MODES : [...MODES].reverse();
    options.log(`Redis modes: repetition ${rep + 1} of ${options.reps} (${order.map((m) => options.modes[m].name).join(' then ')})`);
    const cpuByRate = new Map<Scenario['section'], Partial<Record<RedisMode, Measurement['serverCpuByRate']>>>();
    for (const mode of order) {
      for (const scenario of selected) {
        const m = await measure(scenario, options.modes[mode], `benchredis${prefix++}:`, options.log);
        const r = rowsOf.get(scenario.section)!;
        cpuByRate.set(scenario.section, { ...cpuByRate.get(scenario.section), [mode]: m.serverCpuByRate });
        r.knee.values[mode].push(m.knee);
        r.serverCpu.values[mode].push(m.serverCpuPerDeliveryUs);
        r.redisCpu.values[mode].push(m.redisCpuPerMessageUs);
        m.inboundPerMessage.forEach((v, t) => r.inbound[t]!.values[mode].push(v));
        m.foreignPerMessage.forEach((v, t) => r.foreign[t]!.values[mode].push(v));
      }
    }
    for (const [section, byMode] of cpuByRate) {
      const { a, b } = byMode;
      const ran = [...(a?.keys() ?? [])].filter((rate) => b?.has(rate));
      const passed = ran.filter((rate) => a?.get(rate)?.ok === true && b?.get(rate)?.ok === true);
      // CPU is a cost per delivery whatever the latency: when no step passed in both, read it at the lowest both ran.
      const rate = passed.length > 0 ? Math.max(...passed) : ran.length > 0 ? Math.min(...ran) : undefined;
      const r = rowsOf.get(section)!.sameRateCpu;
      const usA = rate === undefined ? Number.NaN : a!.get(rate)!.us;
      const usB = rate === undefined ? Number.NaN : b!.get(rate)!.us;
      r.values.a.push(usA);
      r.values.b.push(usB);
      if (rate !== undefined) {
        options.log(
          `${section}: server CPU per delivery at ${rate} msg/s, ${passed.length > 0 ? 'the highest step both passed' : 'the lowest step (none passed in both)'}: ` +
            `${formatNumber(usA, 2)} µs (${options.modes.a.name}) vs ${formatNumber(usB, 2)} µs (${options.modes.b.name})`,
        );
      }
    }
  }

  const { a: modeA, b: modeB } = options.modes;
  const withTargets = rows.some((r) => r.target !== undefined);
  const header =
    `| section | figure | ${modeA.column} | ${modeB.column} | ${options.ratioColumn} |${withTargets ? ' target met |' : ''}\n` +
    `|---|---|---|---|---|${withTargets ? '---|' : ''}`;
  const lines = rows.map((r) => {
    const a = summarize(r.values.a);
    const b = summarize(r.values.b);
    const finite = Number.isFinite(a.median) && Number.isFinite(b.median) && a.median !== 0;
    const ratio = finite ? `${formatNumber(b.median / a.median, 2)}×` : 'n/a';
    const unit = r.unit ? ` ${r.unit}` : '';
    const met = r.target === undefined ? '' : !finite ? '?' : `${b.median / a.median <= r.target ? 'yes' : 'NO'} (target ≤ ${r.target}×)`;
    return `| ${r.section} | ${r.metric} | ${formatSummary(a, r.digits)}${unit} | ${formatSummary(b, r.digits)}${unit} | ${ratio} |${withTargets ? ` ${met} |` : ''}`;
  });
  return { header, lines, nodes: NODES };
}
