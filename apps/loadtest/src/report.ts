import { SATURATED_PERCENT, type GeneratorCpu } from './cpu-monitor.js';
import { mergeFailures, type FailureSummary } from './failures.js';
import { mergeHistograms, percentilesOf, type LatencyPercentiles } from './latency-recorder.js';
import { accountLosses } from './loss-accounting.js';
import { messageCounts, type ResolvedOptions, type ScenarioName } from './options.js';
import { clientsPerTarget as placedClients } from './placement.js';
import { mergeChurn, type ChurnWorkerStats } from './scenarios/churn.js';
import { stormChecks } from './scenarios/storm-checks.js';
import { mergePresence, type PresenceReport } from './scenarios/storm-report.js';
import type { TimelinePoint } from './timeline.js';
import type { PhaseStats, WorkerResult } from './worker/protocol.js';

/** Connections or joins. */
export interface RateStats {
  attempts: number;
  ok: number;
  failed: number;
  /** Successes per second from the first attempt to the last success. */
  perSecond: number;
  latency: LatencyPercentiles;
}

export interface TargetReport {
  target: string;
  /** Clients assigned to this target (per --placement). */
  clients: number;
  /** Messages sent by clients of this target (warm-up and refusals included, as `messages.sent`): what this node published. */
  messagesSent: number;
  /** Deliveries received by clients of this target. */
  deliveries: number;
  measuredDeliveries: number;
  deliveriesPerSecond: number;
  lost: number;
  /** Latency of deliveries to clients of this target. */
  latency: LatencyPercentiles;
}

/** The options a run used (what the CLI would print with --json). */
export type ReportOptions = Omit<ResolvedOptions, 'json' | 'html' | 'quiet'>;

/** Everything a run measured. Times are ISO strings or ms; rates are per second; latencies in ms. */
export interface LoadTestReport {
  tool: 'realtime-loadtest';
  reportVersion: 1;
  scenario: ScenarioName;
  options: ReportOptions;
  startedAt: string;
  endedAt: string;
  wallSeconds: number;
  /** The CI gate: nothing lost, duplicated or refused, every connection and join succeeded (join-storm: counts settled at N, never down). */
  passed: boolean;
  /** Why `passed` is false, one line each. */
  failedChecks: string[];
  warnings: string[];

  clients: { planned: number; peakConnected: number; connectedAtEnd: number };
  connect: RateStats;
  joins: RateStats;
  failures: FailureSummary;

  messages: {
    sent: number;
    /** Sent after the warm-up. */
    measured: number;
    refused: number;
    ackTimeouts: number;
    /** Measured messages per second. */
    perSecond: number;
  };
  /** The measured window: from the end of the warm-up to the last measured send (at least the scheduled length). */
  measurement: { startAt: string | null; seconds: number; scheduledSeconds: number; warmupMessages: number };
  deliveries: {
    total: number;
    measured: number;
    /** Deliveries the memberships called for (see `lost`). */
    expected: number;
    /** Of the expected, received. */
    received: number;
    perSecond: number;
    outsideMembership: number;
    foreign: number;
  };
  /** Measured deliveries per second (also `deliveries.perSecond`). */
  deliveriesPerSecond: number;
  /** Expected deliveries not received by the end of the drain. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Send → receipt, measured deliveries. */
  latency: LatencyPercentiles;
  perTarget: TargetReport[];
  /** join-storm only. */
  presence: PresenceReport | null;
  /** churn only; `spanMs` is how long a receiver must stay a member after a send for the message to count. */
  churn: (ChurnWorkerStats & { spanMs: number }) | null;
  generator: { workers: GeneratorCpu[]; saturated: boolean; maxSendLagMs: number };
  /** Per second from the run's start (connect ramp, warm-up and drain included). */
  timeline: TimelinePoint[];
  /** Timeline seconds where the measured window starts and ends (for charts). */
  marks: { measureStartSecond: number | null; measureEndSecond: number | null };
}

function rate(stats: readonly PhaseStats[]): RateStats {
  const firsts = stats.map((s) => s.firstAt).filter((t): t is number => t !== null);
  const lasts = stats.map((s) => s.lastAt).filter((t): t is number => t !== null);
  const ok = stats.reduce((a, s) => a + s.ok, 0);
  const spanMs = firsts.length > 0 && lasts.length > 0 ? Math.max(...lasts) - Math.min(...firsts) : 0;
  return {
    attempts: stats.reduce((a, s) => a + s.attempts, 0),
    ok,
    failed: stats.reduce((a, s) => a + s.failed, 0),
    perSecond: ok === 0 ? 0 : round1(ok / (Math.max(spanMs, 1) / 1000)),
    latency: percentilesOf(mergeHistograms(stats.map((s) => s.latency))),
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

export interface ReportInput {
  options: ResolvedOptions;
  results: readonly WorkerResult[];
  startedAt: number;
  endedAt: number;
  runStart: number;
  timeline: TimelinePoint[];
}

/** Merges the workers' results into the report, judges losses and sets the CI verdict. */
export function buildReport({ options, results, startedAt, endedAt, runStart, timeline }: ReportInput): LoadTestReport {
  const targets = options.targets.length;
  const overall = mergeHistograms(results.map((r) => r.latency.overall));
  const latency = percentilesOf(overall);
  const perTargetHistograms = options.targets.map((_, t) => mergeHistograms(results.map((r) => r.latency.perTarget[t] as string)));
  const churn = mergeChurn(results.map((r) => r.churn));
  // A churning receiver must stay a member this long after a send for it to count: at least 1 s, and
  // never less than the slowest delivery seen, so a leave racing a message in flight is no loss.
  const spanMs = churn === null ? 0 : Math.max(1000, Math.ceil(latency.max));
  const losses = accountLosses(
    results.flatMap((r) => r.streams),
    results.flatMap((r) => r.memberships),
    targets,
    spanMs,
  );

  const counts = messageCounts(options);
  const starts = results.map((r) => r.measureStartAt).filter((t): t is number => t !== null);
  const measureStart = starts.length > 0 ? Math.min(...starts) : null;
  const scheduledSeconds = counts.measured / options.rate;
  const lastSent = Math.max(0, ...results.map((r) => r.sent.lastAt ?? 0));
  const messaging = ['fanout', 'rooms', 'churn'].includes(options.scenario);
  const seconds = messaging && measureStart !== null ? Math.max(scheduledSeconds, (lastSent - measureStart) / 1000) : 0;
  const measuredDeliveries = sum(results.map((r) => r.deliveries.measured));
  const deliveriesPerSecond = seconds > 0 ? Math.round(measuredDeliveries / seconds) : 0;
  const failures = mergeFailures(results.map((r) => r.failures));
  const presence = mergePresence(results.map((r) => r.presence));
  const cpu = results.map((r) => r.cpu);
  const saturated = cpu.some((c) => c.busyPercent > SATURATED_PERCENT);
  const maxSendLagMs = Math.round(Math.max(0, ...results.map((r) => r.sent.maxLagMs)));

  const sent = {
    sent: sum(results.map((r) => r.sent.total)),
    measured: sum(results.map((r) => r.sent.measured)),
    refused: sum(results.map((r) => r.sent.refused)),
    ackTimeouts: sum(results.map((r) => r.sent.ackTimeouts)),
  };
  const duplicated = sum(results.map((r) => r.deliveries.duplicated));
  const outOfOrder = sum(results.map((r) => r.deliveries.outOfOrder));
  const connect = rate(results.map((r) => r.connect));
  const joins = rate(results.map((r) => r.joins));

  const failedChecks: string[] = [];
  if (connect.failed > 0) failedChecks.push(`${connect.failed} of ${connect.attempts} connections failed`);
  if (joins.failed > 0) failedChecks.push(`${joins.failed} of ${joins.attempts} joins failed`);
  if (losses.lost > 0) failedChecks.push(`${losses.lost} of ${losses.expected} expected deliveries lost`);
  if (duplicated > 0) failedChecks.push(`${duplicated} deliveries duplicated`);
  if (sent.refused > 0) failedChecks.push(`${sent.refused} of ${sent.sent} messages refused by the server or not sent`);
  if (sent.ackTimeouts > 0) failedChecks.push(`${sent.ackTimeouts} messages never acknowledged`);
  // Connect (and churn reconnect), join and send failures are counted above; the rest by reason.
  const others = Object.entries(failures.byReason).filter(([key]) => !/^(connect|reconnect|join|send): /.test(key));
  if (others.length > 0) {
    const total = others.reduce((a, [, n]) => a + n, 0);
    failedChecks.push(`${total} other failures: ${others.map(([key, n]) => `${key} ×${n}`).join(', ')}`);
  }
  if (messaging && losses.expected === 0) failedChecks.push('no delivery was expected: nothing was measured');
  if (presence !== null) for (const check of stormChecks(presence)) if (!check.passed) failedChecks.push(check.text);

  const warnings: string[] = [];
  for (const c of cpu) {
    if (c.busyPercent > SATURATED_PERCENT) {
      warnings.push(
        `generator worker ${c.worker} was saturated (${c.busyPercent}% of a core): latencies and rates are skewed by the generator; add --workers or lower the load`,
      );
    }
  }
  if (maxSendLagMs > 100) warnings.push(`the generator fell behind its send schedule by up to ${maxSendLagMs} ms`);
  if (outOfOrder > 0) warnings.push(`${outOfOrder} deliveries arrived out of order`);
  const perPublisher = options.scenario === 'rooms' ? 0 : options.rate / options.publishers;
  if (messaging && perPublisher > 200) {
    warnings.push(
      `each publisher sends ${round1(perPublisher)} msg/s, above the server's default RATE_LIMIT_EVENTS_PER_SECOND (200): use more --publishers`,
    );
  }
  const foreign = sum(results.map((r) => r.deliveries.foreign));
  if (foreign > 0) warnings.push(`${foreign} messages on the run's channels were not the load tester's`);

  const { json: _json, html: _html, quiet: _quiet, ...reportOptions } = options;
  const clientsPerTarget = placedClients(options);
  const streams = results.flatMap((r) => r.streams);
  const second = (at: number | null): number | null => (at === null ? null : Math.floor((at - runStart) / 1000));
  return {
    tool: 'realtime-loadtest',
    reportVersion: 1,
    scenario: options.scenario,
    options: reportOptions,
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    wallSeconds: round1((endedAt - startedAt) / 1000),
    passed: failedChecks.length === 0,
    failedChecks,
    warnings,
    clients: {
      planned: options.clients,
      peakConnected: sum(results.map((r) => r.peakConnected)),
      connectedAtEnd: sum(results.map((r) => r.connectedAtEnd)),
    },
    connect,
    joins,
    failures,
    messages: { ...sent, perSecond: seconds > 0 ? round1(sent.measured / seconds) : 0 },
    measurement: {
      startAt: messaging && measureStart !== null ? new Date(measureStart).toISOString() : null,
      seconds: Math.round(seconds * 1000) / 1000,
      scheduledSeconds: round1(scheduledSeconds),
      warmupMessages: counts.warmup,
    },
    deliveries: {
      total: sum(results.map((r) => r.deliveries.total)),
      measured: measuredDeliveries,
      expected: losses.expected,
      received: losses.received,
      perSecond: deliveriesPerSecond,
      outsideMembership: sum(results.map((r) => r.deliveries.outsideMembership)),
      foreign,
    },
    deliveriesPerSecond,
    lost: losses.lost,
    duplicated,
    outOfOrder,
    latency,
    perTarget: options.targets.map((target, t) => {
      const measured = sum(results.map((r) => r.deliveries.measuredPerTarget[t] ?? 0));
      return {
        target,
        clients: clientsPerTarget[t] as number,
        messagesSent: sum(streams.filter((s) => s.target === t).map((s) => s.sentAt.length)),
        deliveries: sum(results.map((r) => r.deliveries.perTarget[t] ?? 0)),
        measuredDeliveries: measured,
        deliveriesPerSecond: seconds > 0 ? Math.round(measured / seconds) : 0,
        lost: losses.lostByTarget[t] ?? 0,
        latency: percentilesOf(perTargetHistograms[t]!),
      };
    }),
    presence,
    churn: churn === null ? null : { ...churn, spanMs },
    generator: { workers: cpu, saturated, maxSendLagMs },
    timeline,
    marks: {
      measureStartSecond: messaging ? second(measureStart) : null,
      measureEndSecond: messaging && lastSent > 0 ? second(lastSent) : null,
    },
  };
}
