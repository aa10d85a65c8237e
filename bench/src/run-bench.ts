/**
 * `npm run bench`: this cluster against plain socket.io + @socket.io/redis-adapter,
 * side by side in one run on one machine. Starts its own Redis, then for
 * each repetition 2 nodes of ours and 2 of the baseline, alternately (the
 * order flips every repetition), drives both with the load tester, and
 * prints one table of medians, spreads and ratios. Writes bench/RESULTS.md.
 *
 * `--redis cluster` (redis-modes.ts) runs ours on a local Redis Cluster
 * against ours on the standalone Redis instead, or after it with
 * `--redis standalone,cluster`; `--redis recovery` runs ours with
 * RECOVERY_WINDOW_MS on against it off, on the standalone Redis.
 *
 * Absolute figures move between machines and hours; only ratios from one
 * run mean anything.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { runLoadTest, type LoadTestOptions, type LoadTestReport } from '@realtime/loadtest';
import { startBenchCluster, type BenchCluster, type Implementation } from './bench-cluster.js';
import { heapPerIdleConnection } from './idle-memory.js';
import { cpuMeter } from './process-cpu.js';
import { redisCostPerMessage } from './redis-cost.js';
import { startBenchRedisCluster, type BenchRedisCluster } from './redis-cluster-process.js';
import { REDIS_MODE_SECTIONS, runRedisModes, SETTLE_MS, type RedisModesResult } from './redis-modes.js';
import { startBenchRedis } from './redis-server-process.js';
import { writeResults } from './results-file.js';
import { formatNumber, formatSummary, summarize, type Summary } from './statistics.js';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    redis: { type: 'string', default: 'standalone' },
    out: { type: 'string', default: fileURLToPath(new URL('../RESULTS.md', import.meta.url)) },
    help: { type: 'boolean', default: false },
  },
});

const HELP = `npm run bench -- [--redis standalone|cluster|recovery, or several comma-separated] [--reps N] [--quick] [--only fanout,rooms,join-storm,connect,memory] [--out FILE]
  --redis    which comparison to run (default standalone):
               standalone  ours vs the baseline (plain socket.io + @socket.io/redis-adapter), both on one
                           redis-server: every section
               cluster     ours on a local Redis Cluster (3 masters + 3 replicas, REDIS_CLUSTER_NODES:
                           sharded pub/sub) vs ours on one redis-server (classic adapter) as the reference,
                           alternating in the same run: the fanout and rooms knees (rooms room-local: every
                           room's members on one node), server CPU per delivery, Redis CPU per message, and
                           each node's inbound broker messages per message published. The baseline is
                           standalone-only and not part of it.
               recovery    ours with RECOVERY_WINDOW_MS=120000 (every topic event stored and published by one
                           script, delivered from each node's subscription) vs ours with it 0 (the adapter's
                           broadcast), both on one redis-server, alternating in the same run: the same figures
                           as cluster; target: server CPU per delivery with recovery on ≤ 1.1× off
               standalone,cluster  both, one after the other (any of the three may be combined)
  --reps N   repetitions of every measurement, alternating (default 3)
  --quick    smaller populations and shorter runs (a smoke run, not a result)
  --only     run only these sections (--redis cluster and recovery: fanout and rooms)
  --out      where to write the results (default bench/RESULTS.md); each --redis comparison rewrites
             only its own table and keeps the other's
`;

if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function usage(message: string): never {
  process.stderr.write(`npm run bench: ${message} (see --help)\n`);
  process.exit(2);
}

const ALL_SECTIONS = ['fanout', 'rooms', 'join-storm', 'connect', 'memory'];
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) usage(`--reps must be a whole number ≥ 1, got "${args.reps}"`);
const quick = args.quick === true;
const sections = new Set((args.only ?? ALL_SECTIONS.join(',')).split(','));
const unknownSections = [...sections].filter((s) => !ALL_SECTIONS.includes(s));
if (unknownSections.length > 0) usage(`--only: unknown section ${unknownSections.join(', ')}; sections are ${ALL_SECTIONS.join(', ')}`);
const suites = new Set(args.redis.split(',').map((s) => s.trim()));
const unknownSuites = [...suites].filter((s) => s !== 'standalone' && s !== 'cluster' && s !== 'recovery');
if (unknownSuites.length > 0 || suites.size === 0) {
  usage(`--redis must be standalone, cluster or recovery (or several, comma-separated), got "${args.redis}"`);
}
const clusterSections = new Set(REDIS_MODE_SECTIONS.filter((s) => sections.has(s)));
for (const suite of ['cluster', 'recovery']) {
  if (suites.has(suite) && clusterSections.size === 0) {
    usage(`--redis ${suite} runs the ${REDIS_MODE_SECTIONS.join(' and ')} sections; --only names neither`);
  }
}
const IMPLEMENTATIONS: readonly Implementation[] = ['ours', 'baseline'];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** One measured figure per implementation and repetition. */
interface Row {
  section: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** Target for ours/baseline, e.g. ≥ 1.0 or ≤ 1.2; undefined = informational. */
  target?: { op: '>=' | '<='; ratio: number };
  values: Record<'ours' | 'baseline', number[]>;
  digits?: number;
  note?: string;
}

const rows: Row[] = [];
function row(section: string, metric: string, unit: string, higherIsBetter: boolean, target?: Row['target'], digits = 0): Row {
  let r = rows.find((x) => x.section === section && x.metric === metric);
  if (r === undefined) {
    r = { section, metric, unit, higherIsBetter, target, values: { ours: [], baseline: [] }, digits };
    rows.push(r);
  }
  return r;
}

const redis = await startBenchRedis();
const admin = new Redis(redis.url);
let prefixCounter = 0;

async function withCluster<T>(impl: Implementation, env: Record<string, string>, fn: (cluster: BenchCluster) => Promise<T>): Promise<T> {
  const cluster = await startBenchCluster(impl, { count: 2, redisUrl: redis.url, keyPrefix: `bench${prefixCounter++}:`, env });
  try {
    return await fn(cluster);
  } finally {
    await cluster.stop();
  }
}

async function load(cluster: BenchCluster, options: LoadTestOptions): Promise<LoadTestReport> {
  return runLoadTest({ targets: cluster.urls, quiet: true, workers: 2, ...options });
}

// LOG_LEVEL stays info: the node's `listening` line is how the bench learns its port.
const OURS_ENV: Record<string, string> = {};

// ---- fanout: one channel, many members; find the knee (p99 ≤ 100 ms) ----
async function fanout(impl: Implementation): Promise<void> {
  const clients = quick ? 200 : 1000;
  const rates = quick ? [20, 50, 100] : [40, 50, 60, 70, 80, 90, 100, 120, 150, 200, 300];
  // Ours with PRESENCE_EVENTS_MAX_MEMBERS=100 (Pusher's cap): each step connects
  // 1,000 fresh members to one channel, and the guide's join-channel events for
  // them (1,000² = 1 M deliveries) would still be in flight when the
  // measurement starts. The baseline sends no such events either; the message
  // path compared is the same.
  await withCluster(impl, { ...OURS_ENV, PRESENCE_EVENTS_MAX_MEMBERS: '100' }, async (cluster) => {
    let best = 0;
    // Server CPU per delivery, marginal: (CPU of a step − CPU of the first step) /
    // (its deliveries − the first step's). Every step connects and joins the same
    // 1,000 clients, so set-up costs cancel and what is left is the message path.
    const steps: { cpuMs: number; deliveries: number }[] = [];
    const cost = await redisCostPerMessage(cluster, admin);
    log(`fanout ${impl} Redis commands for 300 channel messages: ${JSON.stringify(cost.commands)}`);
    for (const rate of rates) {
      const meter = cpuMeter(cluster.nodes.map((n) => n.pid));
      const report = await load(cluster, {
        scenario: 'fanout',
        clients,
        rate,
        publishers: Math.max(1, Math.ceil(rate / 50)),
        size: 100,
        duration: quick ? '3s' : '5s',
        warmup: '1s',
      });
      const cpuMs = meter.stop();
      const ok = report.lost === 0 && report.latency.p99 <= 100;
      log(
        `fanout ${impl} ${rate} msg/s × ${clients}: ${report.deliveriesPerSecond} deliveries/s, p99 ${report.latency.p99} ms, lost ${report.lost}, server CPU ${Math.round(cpuMs)} ms${report.generator.saturated ? ' (generator saturated)' : ''}`,
      );
      if (ok) {
        best = Math.max(best, report.deliveriesPerSecond);
        steps.push({ cpuMs, deliveries: report.deliveries.total });
      }
      if (!ok) break;
    }
    const first = steps[0];
    const last = steps[steps.length - 1];
    const cpuPerDelivery =
      first !== undefined && last !== undefined && last.deliveries > first.deliveries
        ? ((last.cpuMs - first.cpuMs) * 1000) / (last.deliveries - first.deliveries)
        : Number.NaN;
    row('fanout', `deliveries/s at p99 ≤ 100 ms (${clients} members; ours: PRESENCE_EVENTS_MAX_MEMBERS=100)`, '/s', true, {
      op: '>=',
      ratio: 1.0,
    }).values[impl].push(best);
    row('fanout', 'server CPU per delivery (marginal, set-up excluded)', 'µs', false, { op: '<=', ratio: 1.0 }, 2).values[impl].push(
      cpuPerDelivery,
    );
    row('fanout', 'Redis publishes per channel message', '', false, undefined, 2).values[impl].push(cost.publishes);
    row('fanout', 'Redis commands per channel message (all, heartbeats included)', '', false, undefined, 2).values[impl].push(cost.all);
  });
}

// ---- rooms: 100 rooms of 10, messages spread over them ----
async function rooms(impl: Implementation, adapterMode: 'classic' | 'sharded' = 'classic'): Promise<void> {
  const rates = quick ? [500, 1000] : [1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000];
  const label = impl === 'ours' ? adapterMode : 'classic';
  await withCluster(impl, { ...OURS_ENV, ADAPTER_MODE: adapterMode }, async (cluster) => {
    const run = (rate: number) =>
      load(cluster, {
        scenario: 'rooms',
        channels: 10,
        roomsPerChannel: 10,
        membersPerRoom: 10,
        clients: 1000,
        rate,
        size: 100,
        duration: quick ? '3s' : '5s',
        warmup: '1s',
      });
    const fixedRate = quick ? (rates[rates.length - 1] as number) : 4000;
    let best = 0;
    let p99AtFixedRate = Number.NaN;
    for (const rate of rates) {
      const report = await run(rate);
      const ok = report.lost === 0 && report.latency.p99 <= 100;
      log(
        `rooms ${impl}/${label} ${rate} msg/s: ${report.deliveriesPerSecond} deliveries/s, p99 ${report.latency.p99} ms, lost ${report.lost}`,
      );
      if (rate === fixedRate) p99AtFixedRate = report.latency.p99;
      if (ok) best = Math.max(best, report.deliveriesPerSecond);
      if (!ok) break;
    }
    if (Number.isNaN(p99AtFixedRate)) {
      const report = await run(fixedRate);
      log(`rooms ${impl}/${label} ${fixedRate} msg/s: p99 ${report.latency.p99} ms, lost ${report.lost}`);
      p99AtFixedRate = report.latency.p99;
    }
    const suffix = impl === 'ours' ? ` [ADAPTER_MODE=${adapterMode}]` : '';
    if (impl === 'baseline' || adapterMode === 'classic') {
      row('rooms', 'deliveries/s at p99 ≤ 100 ms (100 rooms × 10)', '/s', true, { op: '>=', ratio: 1.2 }).values[impl].push(best);
      row('rooms', `p99 at ${quick ? 'top rate' : '4,000 msg/s'}`, 'ms', false, undefined, 1).values[impl].push(p99AtFixedRate);
    } else {
      row('rooms', `deliveries/s at p99 ≤ 100 ms${suffix}`, '/s', true, { op: '>=', ratio: 1.2 }).values.ours.push(best);
      row('rooms', `p99 at ${quick ? 'top rate' : '4,000 msg/s'}${suffix}`, 'ms', false, undefined, 1).values.ours.push(p99AtFixedRate);
    }
  });
}

// ---- join-storm: N clients join one channel at once ----
async function joinStorm(impl: Implementation, maxMembers?: number): Promise<void> {
  const clients = quick ? 500 : 2000;
  const env: Record<string, string> =
    impl === 'baseline'
      ? { BASELINE_GUIDE_PRESENCE: '1' }
      : { ...OURS_ENV, ...(maxMembers ? { PRESENCE_EVENTS_MAX_MEMBERS: String(maxMembers) } : {}) };
  await withCluster(impl, env, async (cluster) => {
    // A plain implementation may never acknowledge (fetchSockets times out): 60 s is the cap on the wait.
    const report = await load(cluster, { scenario: 'join-storm', clients, ackTimeout: '60s', drain: '60s' });
    const p = report.presence;
    if (p === null) throw new Error('join-storm report without presence figures');
    const tag = maxMembers ? ` [PRESENCE_EVENTS_MAX_MEMBERS=${maxMembers}]` : '';
    log(
      `join-storm ${impl}${tag}: all acked in ${p.timeToAckAllMs} ms, settled ${p.settled} (${p.lastAckToSettleMs} ms after last ack, ${p.lastJoinEventToSettleMs} ms after last join event), decreases ${p.decreases}, online-users/member max ${p.onlineUsersPerMember.max}`,
    );
    if (maxMembers !== undefined && impl === 'ours') {
      row('join-storm', `time to ack all ${clients} joins${tag}`, 'ms', false).values.ours.push(p.timeToAckAllMs ?? Number.NaN);
      row('join-storm', `last ack → counts settled${tag}`, 'ms', false, undefined).values.ours.push(p.lastAckToSettleMs ?? Number.NaN);
      return;
    }
    row('join-storm', `time to ack all ${clients} joins`, 'ms', false).values[impl].push(p.timeToAckAllMs ?? Number.NaN);
    row('join-storm', 'last join-channel delivered → counts settled', 'ms', false).values[impl].push(
      p.lastJoinEventToSettleMs ?? Number.NaN,
    );
    row('join-storm', 'count decreases seen (all members)', '', false).values[impl].push(p.decreases);
    row('join-storm', 'online-users announcements per member (max)', '', false).values[impl].push(p.onlineUsersPerMember.max);
    row('join-storm', 'members settled at N', '', true).values[impl].push(p.settledMembers);
    row('join-storm', `joins acknowledged ok (of ${clients})`, '', true).values[impl].push(p.acked);
  });
}

// ---- connect: connection + join ramp ----
async function connect(impl: Implementation): Promise<void> {
  const clients = quick ? 500 : 2000;
  await withCluster(impl, OURS_ENV, async (cluster) => {
    // Channels of 10 members, as in an app: one channel of N would make ours pay
    // the guide's N² join-channel events that the plain baseline does not send.
    const report = await load(cluster, { scenario: 'connect', clients, channels: clients / 10, connectRate: 0 });
    log(`connect ${impl}: ${report.connect.perSecond} connects/s, ${report.joins.perSecond} joins/s, failures ${report.failures.total}`);
    row('connect', 'connect + join per second', '/s', true, { op: '>=', ratio: 0.9 }).values[impl].push(
      Math.min(report.joins.perSecond, report.connect.perSecond),
    );
  });
}

// ---- memory: heap per idle connection in one channel and one room ----
async function memory(impl: Implementation): Promise<void> {
  const clients = quick ? 300 : 1000;
  await withCluster(impl, OURS_ENV, async (cluster) => {
    const perConnection = await heapPerIdleConnection(cluster, clients);
    log(`memory ${impl}: ${formatNumber(perConnection / 1024, 1)} KiB heap per idle connection`);
    row('memory', 'heap per idle connection (1 channel + 1 room)', 'KiB', false, { op: '<=', ratio: 1.2 }, 1).values[impl].push(
      perConnection / 1024,
    );
  });
}

const started = Date.now();
const seconds = { standalone: 0, cluster: 0, recovery: 0 };
let redisModes: RedisModesResult | undefined;
let recoveryModes: RedisModesResult | undefined;
try {
  for (let rep = 0; rep < (suites.has('standalone') ? reps : 0); rep++) {
    const order = rep % 2 === 0 ? IMPLEMENTATIONS : [...IMPLEMENTATIONS].reverse();
    log(`repetition ${rep + 1} of ${reps} (${order.join(' then ')})`);
    for (const impl of order) {
      if (sections.has('fanout')) await fanout(impl);
      if (sections.has('rooms')) {
        await rooms(impl, 'classic');
        if (impl === 'ours') await rooms(impl, 'sharded');
      }
      if (sections.has('join-storm')) {
        await joinStorm(impl);
        if (impl === 'ours') await joinStorm(impl, 500);
      }
      if (sections.has('connect')) await connect(impl);
      if (sections.has('memory')) await memory(impl);
    }
  }
  seconds.standalone = Math.round((Date.now() - started) / 1000);
  if (suites.has('cluster')) {
    const clusterStarted = Date.now();
    log('starting a Redis Cluster (3 masters + 3 replicas)');
    const redisCluster: BenchRedisCluster = await startBenchRedisCluster();
    try {
      redisModes = await runRedisModes({
        quick,
        reps,
        sections: clusterSections,
        modes: {
          a: {
            name: 'standalone',
            column: 'standalone [ADAPTER_MODE=classic]',
            target: { redisUrl: redis.url },
            servers: [new URL(redis.url).host],
            // The adapters compared as such: topic events through the adapter (`--redis recovery` measures the history path).
            env: { ADAPTER_MODE: 'classic', RECOVERY_WINDOW_MS: '0' },
          },
          b: {
            name: 'cluster',
            column: 'cluster [ADAPTER_MODE=sharded]',
            target: { redisClusterNodes: redisCluster.nodes },
            servers: redisCluster.nodes.split(','),
            env: { ADAPTER_MODE: 'sharded', RECOVERY_WINDOW_MS: '0' },
          },
        },
        ratioColumn: 'cluster/standalone',
        log,
      });
    } finally {
      await redisCluster.stop();
    }
    seconds.cluster = Math.round((Date.now() - clusterStarted) / 1000);
  }
  if (suites.has('recovery')) {
    const recoveryStarted = Date.now();
    const standalone = { target: { redisUrl: redis.url }, servers: [new URL(redis.url).host] };
    recoveryModes = await runRedisModes({
      quick,
      reps,
      sections: clusterSections,
      modes: {
        a: { ...standalone, name: 'recovery-off', column: 'RECOVERY_WINDOW_MS=0', env: { RECOVERY_WINDOW_MS: '0' } },
        b: { ...standalone, name: 'recovery-on', column: 'RECOVERY_WINDOW_MS=120000', env: { RECOVERY_WINDOW_MS: '120000' } },
      },
      ratioColumn: 'on/off',
      targets: { serverCpu: 1.1 },
      log,
    });
    seconds.recovery = Math.round((Date.now() - recoveryStarted) / 1000);
  }
} finally {
  admin.disconnect();
  await redis.stop();
}

// ---- the table ----
function verdict(r: Row, ours: Summary, baseline: Summary): { ratio: string; met: string } {
  if (!Number.isFinite(ours.median) || !Number.isFinite(baseline.median) || baseline.median === 0)
    return { ratio: 'n/a', met: r.target ? '?' : '' };
  const ratio = ours.median / baseline.median;
  if (r.target === undefined) return { ratio: `${formatNumber(ratio, 2)}×`, met: '' };
  const met = r.target.op === '>=' ? ratio >= r.target.ratio : ratio <= r.target.ratio;
  return {
    ratio: `${formatNumber(ratio, 2)}×`,
    met: `${met ? 'yes' : 'NO'} (target ${r.target.op === '>=' ? '≥' : '≤'} ${r.target.ratio}×)`,
  };
}

const header = '| section | figure | ours | baseline | ours/baseline | target met |\n|---|---|---|---|---|---|';
const lines = rows.map((r) => {
  const ours = summarize(r.values.ours);
  const baseline = summarize(r.values.baseline);
  const { ratio, met } = verdict(r, ours, baseline);
  const unit = r.unit ? ` ${r.unit}` : '';
  const b = r.values.baseline.length === 0 ? '—' : formatSummary(baseline, r.digits) + unit;
  return `| ${r.section} | ${r.metric} | ${formatSummary(ours, r.digits)}${unit} | ${b} | ${ratio} | ${met} |`;
});
const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
const markdown = `# Benchmark results

Ours vs plain socket.io + @socket.io/redis-adapter (bench/src/baseline-server.ts), 2 nodes each on one Redis, same machine, same run, alternating.
Medians of ${reps} repetition(s), (min–max) in brackets. ${quick ? '**Quick run (--quick): smaller populations, not a result.**' : ''}

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} cores (${cpuModel}), Node ${process.version}
- Run time: ${seconds.standalone} s
- Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\`

${header}
${lines.join('\n')}

Figures are whole-system: the load generator (2 worker processes), both server nodes and Redis share the machine's cores, so a saturated generator caps both implementations alike. Only ratios from one run count.
`;
const clusterMarkdown =
  redisModes === undefined
    ? undefined
    : `## Redis standalone vs Redis Cluster (ours only)

Ours, ${redisModes.nodes} nodes, RECOVERY_WINDOW_MS=0 (topic events through the adapter; --redis recovery measures the history path), on one redis-server (ADAPTER_MODE=classic, the default there: every node receives every broadcast) and on a local Redis Cluster of 3 masters + 3 replicas (REDIS_CLUSTER_NODES; ADAPTER_MODE=sharded, the default there: one sharded channel per topic, subscribed only while a node has members in it), same machine, same run, alternating.
The baseline (plain socket.io + @socket.io/redis-adapter) runs on standalone Redis only: its figures are in the ours/baseline table.
Medians of ${reps} repetition(s), (min–max) in brackets. ${quick ? '**Quick run (--quick): smaller populations, not a result.**' : ''}

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} cores (${cpuModel}), Node ${process.version}
- Run time: ${seconds.cluster} s
- Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\`

${redisModes.header}
${redisModes.lines.join('\n')}

- fanout: one channel, its members spread over both nodes, so every message has to reach both whatever the adapter. rooms: \`--placement room-local\`, every member of a room (its senders too) on one node, so with sharded subscriptions a node should receive almost none of the other node's rooms' traffic.
- Knee: the highest rate step with nothing lost and p99 ≤ 100 ms (same steps as the ours/baseline table). Every other figure is read over the sending window of each load test only: from every client joined (+ ${SETTLE_MS / 1000} s for join announcements to settle) to the end of the drain, clients still connected (the load tester's onPhase hooks); connects, joins and disconnects are outside it.
- Server CPU: the rise of both nodes' \`process_cpu_seconds_total\` (their /metrics), per delivery received by a client, at the knee step. Redis CPU: the rise of used_cpu_user + used_cpu_sys (INFO cpu) of every redis-server of that mode (1, or 3 masters + 3 replicas), per message published, at the knee step (the lowest step when even that one missed p99 ≤ 100 ms). Redis CPU includes what Redis does anyway over the window (cluster bus, replication, the nodes' heartbeats), which weighs most at fanout's low message rates.
- Inbound broadcasts: the rise of a node's \`realtime_broker_messages_received_total{kind="broadcast"}\` (what it received from Redis pub/sub for the adapter), per message published by all nodes, over every step. It includes the node's own messages coming back from Redis; "of them other nodes' publications" subtracts what the node's own clients published (in fanout, where its publishers, clients 0 … publishers−1, happen to be).
`;
const recoveryMarkdown =
  recoveryModes === undefined
    ? undefined
    : `## Recovery history on vs off (ours only)

Ours, ${recoveryModes.nodes} nodes on one redis-server (ADAPTER_MODE=classic), with RECOVERY_WINDOW_MS=0 (topic events go through the adapter's broadcast) and with RECOVERY_WINDOW_MS=120000 (every topic event, join events included, is appended to its topic's history by one script that stores and publishes it on the topic's own sharded channel, and every node delivers it from its subscription to that channel), same machine, same run, alternating.
Medians of ${reps} repetition(s), (min–max) in brackets. ${quick ? '**Quick run (--quick): smaller populations, not a result.**' : ''}

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} cores (${cpuModel}), Node ${process.version}
- Run time: ${seconds.recovery} s
- Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\`

${recoveryModes.header}
${recoveryModes.lines.join('\n')}

- The figures are read as in the Redis standalone vs Redis Cluster table. Inbound broadcasts count the adapter's and the history's messages together. With the history on, a node receives only its own topics' events (a sharded subscription per topic), in fanout as in rooms.
`;
writeResults(args.out, {
  ...(suites.has('standalone') ? { standalone: markdown } : {}),
  ...(clusterMarkdown === undefined ? {} : { cluster: clusterMarkdown }),
  ...(recoveryMarkdown === undefined ? {} : { recovery: recoveryMarkdown }),
});
const printed = [
  ...(suites.has('standalone') ? [`${header}\n${lines.join('\n')}`] : []),
  ...(redisModes === undefined
    ? []
    : [
        `Redis standalone vs Redis Cluster (ours only; the baseline is standalone-only):\n\n${redisModes.header}\n${redisModes.lines.join('\n')}`,
      ]),
  ...(recoveryModes === undefined
    ? []
    : [`Recovery history on vs off (ours only):\n\n${recoveryModes.header}\n${recoveryModes.lines.join('\n')}`]),
];
process.stdout.write(`\n${printed.join('\n\n')}\n\nWritten to ${args.out}\n`);
