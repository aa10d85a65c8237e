/**
 * Messages between the orchestrator (parent) and a generator worker. The
 * same messages flow in-process (--workers 1) and over a fork's IPC channel,
 * so both paths run the same code. Everything here is plain data.
 */
import type { GeneratorCpu } from '../cpu-monitor.js';
import type { FailureSummary } from '../failures.js';
import type { EncodedHistogram } from '../latency-recorder.js';
import type { ResolvedOptions } from '../options.js';
import type { ChurnWorkerStats } from '../scenarios/churn.js';
import type { StormWorkerStats } from '../scenarios/join-storm.js';
import type { SeqRange } from '../sequence-tracker.js';
import type { TimelineBucket } from '../timeline.js';

export interface WorkerInit {
  worker: number;
  options: ResolvedOptions;
  /** Epoch ms; timeline seconds count from here in every worker. */
  runStart: number;
}

export type ParentMessage =
  | { type: 'init'; init: WorkerInit }
  /** Every worker reached barrier `name`; `payloads[i]` is worker i's; `at` is a shared start time (epoch ms). */
  | { type: 'release'; name: string; payloads: unknown[]; at: number }
  | { type: 'close' }
  | { type: 'abort'; reason: string };

export type WorkerMessage =
  | { type: 'barrier'; name: string; payload: unknown }
  | { type: 'tick'; tick: WorkerTick }
  | { type: 'result'; result: WorkerResult }
  | { type: 'fatal'; error: { name: string; message: string } }
  | { type: 'closed' };

export type WorkerPhase = 'starting' | 'connecting' | 'storm' | 'sending' | 'draining' | 'done';

/** About once a second, for the progress line and the timeline. */
export interface WorkerTick {
  worker: number;
  /** The timeline second that just ended: the sample describes its end, `buckets` include it. */
  second: number;
  phase: WorkerPhase;
  connected: number;
  planned: number;
  sent: number;
  deliveries: number;
  /** Missing sequence numbers so far (holes below the highest received); a lost tail shows only at the end. */
  gaps: number;
  duplicated: number;
  failures: number;
  cpuPercent: number;
  buckets: TimelineBucket[];
}

/** Connects or joins: counts, span and latency. */
export interface PhaseStats {
  attempts: number;
  ok: number;
  failed: number;
  /** First attempt started (epoch ms). */
  firstAt: number | null;
  /** Last success completed (epoch ms). */
  lastAt: number | null;
  latency: EncodedHistogram;
}

/** What one sender stream sent: `sentAt[seq - 1]` is the send time of `seq`. */
export interface StreamLog {
  stream: string;
  topic: string;
  target: number;
  sentAt: number[];
  /** Sequence numbers the server refused (never relayed, so not expected anywhere). */
  refused: number[];
}

/** One membership of one receiver and what it received from each stream of its topic. */
export interface MembershipLog {
  client: number;
  target: number;
  topic: string;
  joinedAt: number | null;
  leftAt: number | null;
  received: Record<string, SeqRange[]>;
}

export interface WorkerResult {
  worker: number;
  planned: number;
  connectedAtEnd: number;
  peakConnected: number;
  /** When the first measured message was due (epoch ms); null when nothing was sent. */
  measureStartAt: number | null;
  connect: PhaseStats;
  joins: PhaseStats;
  failures: FailureSummary;
  sent: {
    total: number;
    measured: number;
    refused: number;
    ackTimeouts: number;
    firstAt: number | null;
    lastAt: number | null;
    /** Worst delay of a measured send behind its schedule (a saturated generator falls behind). */
    maxLagMs: number;
  };
  deliveries: {
    total: number;
    measured: number;
    duplicated: number;
    outOfOrder: number;
    /** Received while not a member (before the join's emit or after the leave). */
    outsideMembership: number;
    /** Messages on the run's topics not written by the load tester. */
    foreign: number;
    perTarget: number[];
    measuredPerTarget: number[];
  };
  latency: { overall: EncodedHistogram; perTarget: EncodedHistogram[] };
  streams: StreamLog[];
  memberships: MembershipLog[];
  timeline: TimelineBucket[];
  presence: StormWorkerStats | null;
  churn: ChurnWorkerStats | null;
  cpu: GeneratorCpu;
}
