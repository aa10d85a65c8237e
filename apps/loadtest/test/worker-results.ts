import { createHistogram, encodeHistogram, type EncodedHistogram } from '../src/latency-recorder.js';
import { resolveOptions, type LoadTestOptions, type ResolvedOptions } from '../src/options.js';
import { buildReport, type LoadTestReport } from '../src/report.js';
import type { StormWorkerStats } from '../src/scenarios/join-storm.js';
import type { TimelinePoint } from '../src/timeline.js';
import type { PhaseStats, WorkerResult } from '../src/worker/protocol.js';

/**
 * Worker results as a run would send them, for building reports without a
 * cluster: what a run measured is chosen, the merging and judging are the
 * real buildReport's.
 */
const empty = (): EncodedHistogram => {
  const h = createHistogram();
  const encoded = encodeHistogram(h);
  h.destroy();
  return encoded;
};

export function phase(attempts: number, ok: number): PhaseStats {
  return { attempts, ok, failed: attempts - ok, firstAt: 1000, lastAt: ok > 0 ? 1100 : null, latency: empty() };
}

export function workerResult(options: ResolvedOptions, overrides: Partial<WorkerResult> = {}): WorkerResult {
  const targets = options.targets.length;
  return {
    worker: 0,
    planned: options.clients,
    connectedAtEnd: options.clients,
    peakConnected: options.clients,
    measureStartAt: null,
    connect: phase(options.clients, options.clients),
    joins: phase(options.clients, options.clients),
    failures: { total: 0, byReason: {}, examples: {} },
    sent: { total: 0, measured: 0, refused: 0, ackTimeouts: 0, firstAt: null, lastAt: null, maxLagMs: 0 },
    deliveries: {
      total: 0,
      measured: 0,
      duplicated: 0,
      outOfOrder: 0,
      outsideMembership: 0,
      foreign: 0,
      perTarget: new Array<number>(targets).fill(0),
      measuredPerTarget: new Array<number>(targets).fill(0),
    },
    latency: { overall: empty(), perTarget: Array.from({ length: targets }, empty) },
    streams: [],
    memberships: [],
    timeline: [],
    presence: null,
    churn: null,
    cpu: {
      worker: 0,
      pid: 1234,
      userMs: 10,
      systemMs: 5,
      wallMs: 1000,
      meanPercent: 1.5,
      busyPercent: 2,
      peakPercent: 3,
      eventLoopDelayP99Ms: 1,
      eventLoopDelayMaxMs: 2,
    },
    ...overrides,
  };
}

/** A storm in which nothing reached the members: no ack, no count, no join-channel event. */
export function silentStorm(members: number): StormWorkerStats {
  return {
    members,
    expected: members,
    stormStartAt: 5000,
    acked: 0,
    ackFailures: members,
    lastAckAt: null,
    settledMembers: 0,
    settledAt: null,
    finalCounts: { none: members },
    decreases: 0,
    membersWithDecrease: 0,
    onlineUsersEvents: new Array<number>(members).fill(0),
    joinEvents: new Array<number>(members).fill(0),
    lastJoinEventAt: null,
    ackLatencyMs: [],
    counts: { members, steps: [] },
  };
}

export function reportOf(
  input: LoadTestOptions,
  results: (options: ResolvedOptions) => WorkerResult[],
  timeline: TimelinePoint[] = [],
): LoadTestReport {
  const options = resolveOptions({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], quiet: true, ...input });
  return buildReport({ options, results: results(options), startedAt: 0, endedAt: 2000, runStart: 0, timeline });
}
