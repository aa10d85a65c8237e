import { setMaxListeners } from 'node:events';
import { LoadClient, type Membership, type Outcome, type Transport } from '../client.js';
import { delay, nowMs } from '../clock.js';
import { CpuMonitor } from '../cpu-monitor.js';
import { FailureCounter, type FailurePhase } from '../failures.js';
import { createHistogram, encodeHistogram, LatencyRecorder } from '../latency-recorder.js';
import type { ResolvedOptions } from '../options.js';
import { targetOf } from '../placement.js';
import { decodeMessage, encodeMessage, streamOf } from '../payload.js';
import { SequenceTracker } from '../sequence-tracker.js';
import { TimelineRecorder } from '../timeline.js';
import type { Topic } from '../topics.js';
import type { WorkerEnd } from './link.js';
import type { MembershipLog, ParentMessage, PhaseStats, StreamLog, WorkerInit, WorkerPhase, WorkerResult } from './protocol.js';
import type { ChurnWorkerStats } from '../scenarios/churn.js';
import type { StormWorkerStats } from '../scenarios/join-storm.js';

export class RunAborted extends Error {
  override readonly name = 'RunAborted';
}

class PhaseRecorder {
  attempts = 0;
  ok = 0;
  failed = 0;
  firstAt: number | null = null;
  lastAt: number | null = null;
  private readonly latency = createHistogram();

  start(at: number): void {
    this.attempts++;
    this.firstAt ??= at;
  }

  done(outcome: Outcome): void {
    if (outcome.ok) {
      this.ok++;
      this.lastAt = nowMs();
      this.latency.recordValue(Math.max(0, Math.round(outcome.ms * 1000)));
    } else {
      this.failed++;
    }
  }

  stats(): PhaseStats {
    return {
      attempts: this.attempts,
      ok: this.ok,
      failed: this.failed,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      latency: encodeHistogram(this.latency),
    };
  }
}

/** A stream this worker sends on (one per publishing client). */
interface OutStream {
  log: StreamLog;
  refused: Set<number>;
}

/**
 * Everything one generator worker holds: its share of the clients, the
 * membership and sequence bookkeeping, latency, timeline, CPU and failures.
 * Scenarios (scenarios/*.ts) drive it; it knows no scenario.
 */
export class WorkerContext {
  readonly options: ResolvedOptions;
  readonly worker: number;
  readonly runStart: number;
  /** Global indices of this worker's clients. */
  readonly indices: number[];
  readonly clients = new Map<number, LoadClient>();
  readonly failures = new FailureCounter();
  readonly connects = new PhaseRecorder();
  readonly joins = new PhaseRecorder();
  readonly memberships: Membership[] = [];
  phase: WorkerPhase = 'starting';
  /** When the first measured message is due (epoch ms); the measured window starts here. */
  measureStartAt = Infinity;
  presence: StormWorkerStats | null = null;
  churn: ChurnWorkerStats | null = null;

  private readonly abortController = new AbortController();
  private readonly recorder: LatencyRecorder;
  private readonly timeline: TimelineRecorder;
  private readonly cpu: CpuMonitor;
  private readonly streams = new Map<number, OutStream>();
  private readonly releases = new Map<string, (release: { payloads: unknown[]; at: number }) => void>();
  private tickTimer: NodeJS.Timeout | undefined;
  private connectedNow = 0;
  private peakConnected = 0;
  private sent = {
    total: 0,
    measured: 0,
    refused: 0,
    ackTimeouts: 0,
    firstAt: null as number | null,
    lastAt: null as number | null,
    maxLagMs: 0,
  };
  private pendingAcks = 0;
  private acksSettled: (() => void) | undefined;
  private deliveries = {
    total: 0,
    measured: 0,
    duplicated: 0,
    outOfOrder: 0,
    outsideMembership: 0,
    foreign: 0,
    perTarget: [] as number[],
    measuredPerTarget: [] as number[],
  };

  constructor(
    init: WorkerInit,
    private readonly link: WorkerEnd,
  ) {
    this.options = init.options;
    this.worker = init.worker;
    this.runStart = init.runStart;
    const { clients, workers, targets } = this.options;
    this.indices = [];
    for (let i = this.worker; i < clients; i += workers) this.indices.push(i);
    this.recorder = new LatencyRecorder(targets.length);
    this.timeline = new TimelineRecorder(this.runStart);
    this.cpu = new CpuMonitor(this.worker);
    this.deliveries.perTarget = targets.map(() => 0);
    this.deliveries.measuredPerTarget = targets.map(() => 0);
    setMaxListeners(0, this.abortController.signal); // one waiter per client while connecting or churning
  }

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get aborted(): boolean {
    return this.abortController.signal.aborted;
  }

  /** Handles the parent's messages addressed to a running worker. */
  handle(message: ParentMessage): void {
    if (message.type === 'release') {
      const resolve = this.releases.get(message.name);
      this.releases.delete(message.name);
      resolve?.({ payloads: message.payloads, at: message.at });
    } else if (message.type === 'abort') {
      this.abortController.abort(new RunAborted(message.reason));
    }
  }

  /** Waits until every worker reached `name`; returns each worker's payload and a shared start time. */
  barrier<T>(name: string, payload: T): Promise<{ payloads: T[]; at: number }> {
    if (this.aborted) return Promise.reject(new RunAborted('aborted'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new RunAborted('aborted'));
      this.signal.addEventListener('abort', onAbort, { once: true });
      this.releases.set(name, (release) => {
        this.signal.removeEventListener('abort', onAbort);
        resolve(release as { payloads: T[]; at: number });
      });
      this.link.send({ type: 'barrier', name, payload });
    });
  }

  /** Waits until `at` (epoch ms), or the abort. */
  async until(at: number): Promise<void> {
    await delay(at - nowMs(), this.signal);
    if (this.aborted) throw new RunAborted('aborted');
  }

  // ---- clients ------------------------------------------------------------

  /** The client with global index `index`: target per --placement, transports alternating per round when `both`. */
  clientFor(index: number): LoadClient {
    let client = this.clients.get(index);
    if (client !== undefined) return client;
    const { targets, transport } = this.options;
    const target = targetOf(this.options, index);
    const mode: Transport = transport === 'both' ? (Math.floor(index / targets.length) % 2 === 0 ? 'websocket' : 'polling') : transport;
    client = new LoadClient(
      index,
      target,
      targets[target] as string,
      mode,
      (c, topicKey, payload) => this.onDelivery(c, topicKey, payload),
      (c, reason) => this.onUnexpectedClose(c, reason),
    );
    this.clients.set(index, client);
    return client;
  }

  async connect(client: LoadClient, phase: FailurePhase = 'connect'): Promise<boolean> {
    this.connects.start(nowMs());
    const outcome = await client.connect(this.options.ackTimeoutMs);
    this.connects.done(outcome);
    if (!outcome.ok) {
      this.failures.add(phase, outcome.reason, `${client.url}: ${outcome.detail}`);
      return false;
    }
    this.connectedNow++;
    this.peakConnected = Math.max(this.peakConnected, this.connectedNow);
    return true;
  }

  disconnect(client: LoadClient): void {
    if (client.connected) this.connectedNow--;
    client.disconnect();
  }

  async join(client: LoadClient, topic: Topic): Promise<Outcome> {
    this.joins.start(nowMs());
    const outcome = await client.join(topic, this.options.ackTimeoutMs, this.memberships);
    this.joins.done(outcome);
    if (!outcome.ok) this.failures.add('join', outcome.reason, outcome.detail);
    return outcome;
  }

  async leave(client: LoadClient, topic: Topic): Promise<void> {
    const outcome = await client.leave(topic, this.options.ackTimeoutMs);
    if (!outcome.ok) this.failures.add('leave', outcome.reason, outcome.detail);
  }

  private onUnexpectedClose(client: LoadClient, reason: string): void {
    this.connectedNow--;
    if (this.phase !== 'done') {
      this.failures.add('disconnect', reason, `the connection of client ${client.index} to ${client.url} closed: ${reason}`);
    }
  }

  /**
   * Connects (and then runs `then` for) the given clients on the global
   * connect schedule: client i starts at `start + i / connectRate`, so
   * workers share the rate without talking. connectRate 0: as fast as
   * possible, at most 100 connections in flight per worker.
   */
  async ramp(indices: readonly number[], start: number, then: (client: LoadClient) => Promise<void>): Promise<void> {
    const { connectRate } = this.options;
    const one = async (index: number): Promise<void> => {
      if (this.aborted) return;
      const client = this.clientFor(index);
      if (await this.connect(client)) await then(client);
    };
    if (connectRate === 0) {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < indices.length && !this.aborted) await one(indices[next++] as number);
      };
      await Promise.all(Array.from({ length: Math.min(100, indices.length) }, lane));
    } else {
      const pending: Promise<void>[] = [];
      for (const index of indices) {
        await delay(start + (index * 1000) / connectRate - nowMs(), this.signal);
        if (this.aborted) break;
        pending.push(one(index));
      }
      await Promise.all(pending);
    }
    if (this.aborted) throw new RunAborted('aborted');
  }

  // ---- messages -----------------------------------------------------------

  /** Sends the next message of `client`'s stream to `topic`. `scheduledAt` is when the schedule wanted it sent. */
  publish(client: LoadClient, topic: Topic, scheduledAt: number, warmup: boolean): void {
    let out = this.streams.get(client.index);
    if (out === undefined) {
      out = {
        log: { stream: streamOf(client.index), topic: topic.key, target: client.target, sentAt: [], refused: [] },
        refused: new Set(),
      };
      this.streams.set(client.index, out);
    }
    const at = nowMs();
    const seq = out.log.sentAt.length + 1;
    out.log.sentAt.push(at);
    this.sent.total++;
    this.sent.firstAt ??= at;
    this.sent.lastAt = at;
    if (!warmup) {
      this.sent.measured++;
      // Lag behind the schedule counts in the measured window only (the warm-up absorbs the join backlog).
      this.sent.maxLagMs = Math.max(this.sent.maxLagMs, at - scheduledAt);
    }
    this.timeline.addSent(at);
    const stream = out;
    if (!client.connected) {
      this.refuse(stream, seq, 'not connected', `client ${client.index} was not connected when its turn to send came`);
      return;
    }
    const message = encodeMessage({ stream: stream.log.stream, seq, sentAt: at, warmup }, this.options.size);
    const acked = client.send(topic, message, this.options.acks ? this.options.ackTimeoutMs : null);
    if (acked === undefined) return;
    this.pendingAcks++;
    void acked.then((outcome) => {
      this.pendingAcks--;
      if (!outcome.ok) {
        if (outcome.reason === 'ack timeout') {
          this.sent.ackTimeouts++;
          this.failures.add('send', outcome.reason, outcome.detail);
        } else {
          this.refuse(stream, seq, outcome.reason, outcome.detail);
        }
      }
      if (this.pendingAcks === 0) this.acksSettled?.();
    });
  }

  private refuse(stream: OutStream, seq: number, reason: string, detail: string): void {
    stream.refused.add(seq);
    stream.log.refused.push(seq);
    this.sent.refused++;
    this.failures.add('send', reason, detail);
  }

  /** Resolves when every message acknowledgement arrived or timed out. */
  acksDone(): Promise<void> {
    if (this.pendingAcks === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.acksSettled = () => {
        this.acksSettled = undefined;
        resolve();
      };
    });
  }

  /** This worker's streams: last sequence number, last send time and refusals (for the other workers' drain). */
  streamEnds(): StreamEnd[] {
    return [...this.streams.values()].map(({ log }) => ({
      stream: log.stream,
      topic: log.topic,
      lastSeq: log.sentAt.length,
      lastSentAt: log.sentAt.at(-1) ?? 0,
      refused: log.refused,
    }));
  }

  /** The hot path: one message received by one client. */
  private onDelivery(client: LoadClient, topicKey: string, payload: unknown): void {
    const now = nowMs();
    const message = (payload as { data?: { message?: unknown } } | null)?.data?.message;
    const stamp = typeof message === 'string' ? decodeMessage(message) : undefined;
    if (stamp === undefined) {
      this.deliveries.foreign++;
      return;
    }
    const d = this.deliveries;
    d.total++;
    d.perTarget[client.target]!++;
    const membership = client.memberships.get(topicKey);
    if (membership === undefined) {
      d.outsideMembership++;
    } else {
      let tracker = membership.trackers.get(stamp.stream);
      if (tracker === undefined) {
        tracker = new SequenceTracker();
        membership.trackers.set(stamp.stream, tracker);
      }
      const outcome = tracker.record(stamp.seq);
      if (outcome === 'duplicate') {
        d.duplicated++;
        return;
      }
      if (outcome === 'out-of-order') d.outOfOrder++;
    }
    const latency = now - stamp.sentAt;
    this.timeline.addDelivery(now, latency);
    if (!stamp.warmup) {
      d.measured++;
      d.measuredPerTarget[client.target]!++;
      this.recorder.record(client.target, latency);
    }
  }

  /**
   * Whether every current member has everything sent to its topic since it
   * joined (refusals aside): the drain can end early. Conservative: it
   * looks at what each receiver has, not at the send times.
   */
  drained(ends: readonly StreamEnd[]): boolean {
    const byTopic = new Map<string, { end: StreamEnd; last: number; refused: Set<number> }[]>();
    for (const end of ends) {
      const refused = new Set(end.refused);
      let last = end.lastSeq;
      while (last > 0 && refused.has(last)) last--;
      if (last === 0) continue;
      const list = byTopic.get(end.topic) ?? [];
      list.push({ end, last, refused });
      byTopic.set(end.topic, list);
    }
    for (const client of this.clients.values()) {
      for (const membership of client.memberships.values()) {
        if (membership.joinedAt === null) continue;
        for (const { end, last, refused } of byTopic.get(membership.topic.key) ?? []) {
          if (end.lastSentAt < membership.joinedAt) continue;
          const tracker = membership.trackers.get(end.stream);
          if (tracker === undefined || tracker.highest < last) return false;
          if (tracker.gaps > 0) {
            const low = tracker.ranges()[0]![0];
            let refusedInside = 0;
            for (const seq of refused) if (seq > low && seq < tracker.highest) refusedInside++;
            if (tracker.gaps > refusedInside) return false;
          }
        }
      }
    }
    return true;
  }

  /** Waits until {@link drained} or `deadline` (epoch ms), checking every 25 ms. */
  async drain(ends: readonly StreamEnd[], deadline: number): Promise<void> {
    this.phase = 'draining';
    while (!this.aborted && nowMs() < deadline && !this.drained(ends)) {
      await delay(Math.min(25, deadline - nowMs()), this.signal);
    }
  }

  // ---- ticks and result ---------------------------------------------------

  startTicks(): void {
    const tick = (): void => {
      const now = nowMs();
      const second = this.timeline.secondOf(now);
      this.link.send({
        type: 'tick',
        tick: {
          worker: this.worker,
          second: second - 1,
          phase: this.phase,
          connected: this.connectedNow,
          planned: this.indices.length,
          sent: this.sent.total,
          deliveries: this.deliveries.total,
          gaps: this.gaps(),
          duplicated: this.deliveries.duplicated,
          failures: this.failures.count(),
          cpuPercent: this.cpu.sample(this.phase === 'sending' || this.phase === 'storm'),
          buckets: this.timeline.flush(now),
        },
      });
      // Aligned to the run's seconds, so every worker samples the same second.
      this.tickTimer = setTimeout(tick, this.runStart + (second + 1) * 1000 + 5 - nowMs());
    };
    this.tickTimer = setTimeout(tick, Math.max(0, this.runStart + 1005 - nowMs()));
  }

  stopTicks(): void {
    clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
  }

  private gaps(): number {
    let gaps = 0;
    for (const client of this.clients.values()) {
      for (const membership of client.memberships.values()) for (const tracker of membership.trackers.values()) gaps += tracker.gaps;
    }
    return gaps;
  }

  result(): WorkerResult {
    this.phase = 'done';
    this.stopTicks();
    const memberships: MembershipLog[] = this.memberships.map((m) => {
      const received: MembershipLog['received'] = {};
      for (const [stream, tracker] of m.trackers) received[stream] = tracker.ranges();
      return { client: m.client, target: m.target, topic: m.topic.key, joinedAt: m.joinedAt, leftAt: m.leftAt, received };
    });
    let connectedAtEnd = 0;
    for (const client of this.clients.values()) if (client.connected) connectedAtEnd++;
    return {
      worker: this.worker,
      planned: this.indices.length,
      connectedAtEnd,
      peakConnected: this.peakConnected,
      measureStartAt: Number.isFinite(this.measureStartAt) ? this.measureStartAt : null,
      connect: this.connects.stats(),
      joins: this.joins.stats(),
      failures: this.failures.summary(),
      sent: { ...this.sent },
      deliveries: { ...this.deliveries },
      latency: this.recorder.encode(),
      streams: [...this.streams.values()].map((s) => s.log),
      memberships,
      timeline: this.timeline.flush(),
      presence: this.presence,
      churn: this.churn,
      cpu: this.cpu.finish(),
    };
  }

  /** Closes every connection and timer: the process can exit. */
  close(): void {
    this.phase = 'done';
    this.stopTicks();
    for (const client of this.clients.values()) client.disconnect();
    this.releases.clear();
  }
}

/** How a stream ended, shared between workers for the drain. */
export interface StreamEnd {
  stream: string;
  topic: string;
  lastSeq: number;
  lastSentAt: number;
  refused: number[];
}
