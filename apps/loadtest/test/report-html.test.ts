import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../src/index.js';
import type { StormWorkerStats } from '../src/scenarios/join-storm.js';
import type { TimelinePoint } from '../src/timeline.js';
import { element, expectNoData, textOf } from './html-page.js';
import { phase, reportOf, silentStorm, workerResult } from './worker-results.js';

const second = (s: number, sent: number, deliveries: number): TimelinePoint => ({
  second: s,
  sent,
  deliveries,
  p50: 0,
  p90: 0,
  p99: 0,
  max: 0,
  connected: 4,
  cpuPercent: [12],
});

describe('the HTML report draws no chart without data', () => {
  it('a storm in which no join was acknowledged and no count arrived: notes instead of its charts, and a FAIL that says why', () => {
    const report = reportOf({ scenario: 'join-storm', clients: 3 }, (options) => [
      workerResult(options, { joins: phase(3, 0), presence: silentStorm(3) }),
    ]);
    const page = renderHtmlReport(report);
    expectNoData(page, 'storm-ack-latency', 'no join was acknowledged');
    expect(page).not.toContain('id="storm-ack-percentiles"');
    expectNoData(page, 'storm-counts', 'no member was told a count (no online-users announcement arrived)');
    expectNoData(page, 'storm-join-events', 'no member received a join-channel event');
    expectNoData(page, 'storm-online-users-events', 'no member was told a count');
    // A storm sends no messages: the delivery figures say so rather than showing zeros.
    expectNoData(page, 'latency-table', 'the join-storm scenario sends no messages');
    expectNoData(page, 'latency-over-time', 'the join-storm scenario sends no messages');
    expectNoData(page, 'throughput-over-time', 'the join-storm scenario sends no messages');
    expectNoData(page, 'sent-over-time', 'the join-storm scenario sends no messages');

    const verdict = textOf(element(page, 'section', 'verdict')!);
    expect(verdict).toContain('FAIL');
    expect(verdict).toContain('3 of 3 joins failed');
    expect(verdict).toContain('presence did not settle: 0 of 3 members ended at 3 (3 at no count)');
    expect(verdict).toContain('all 3 connections opened');
    expect(report.failedChecks).toContain('presence did not settle: 0 of 3 members ended at 3 (3 at no count)');
  });

  it('a fanout run that delivered nothing: no latency or throughput chart, but the messages it sent are drawn', () => {
    const report = reportOf(
      { scenario: 'fanout', clients: 4, rate: 10, duration: '1s', warmup: '0s' },
      (options) => [workerResult(options)],
      [second(0, 6, 0), second(1, 4, 0)],
    );
    const page = renderHtmlReport(report);
    expectNoData(page, 'latency-table', 'no measured message was delivered');
    expectNoData(page, 'latency-over-time', 'no message was delivered');
    expectNoData(page, 'throughput-over-time', 'no message was delivered');
    expect(element(page, 'figure', 'sent-over-time')).toContain('<svg');
    expect(element(page, 'figure', 'connected-over-time')).toContain('<svg');
    expect(element(page, 'figure', 'cpu-over-time')).toContain('<svg');
    expect(page).not.toContain('id="storm"');
  });

  it('a run with no per-second sample: every timeline chart is a note, and no text block scrolls out of sight', () => {
    const page = renderHtmlReport(reportOf({ scenario: 'connect', clients: 2 }, (options) => [workerResult(options)]));
    expectNoData(page, 'connected-over-time', 'no client was connected at the end of any second');
    expectNoData(page, 'cpu-over-time', 'no generator worker sent a per-second CPU sample');
    expect(page).not.toContain('<svg');
    // The summary's long lines wrap instead of running past the page's edge.
    expect(page).toMatch(/pre \{[^}]*white-space: pre-wrap/);
    expect(page).not.toMatch(/overflow-x: auto/);
  });

  it('a storm that did not settle: the counts are drawn, and the caption and the verdict say who ended where', () => {
    const storm: StormWorkerStats = {
      ...silentStorm(3),
      acked: 3,
      ackFailures: 0,
      lastAckAt: 5040,
      settledMembers: 2,
      finalCounts: { '3': 2, '2': 1 },
      onlineUsersEvents: [2, 2, 1],
      joinEvents: [3, 2, 1],
      lastJoinEventAt: 5050,
      ackLatencyMs: [12.5, 20.25, 31],
      counts: {
        members: 3,
        steps: [
          { atMs: 30, counts: { '2': 3 } },
          { atMs: 60, counts: { '2': 1, '3': 2 } },
          { atMs: 900, counts: { '2': 1, '3': 2 } },
        ],
      },
    };
    const page = renderHtmlReport(
      reportOf({ scenario: 'join-storm', clients: 3 }, (options) => [workerResult(options, { presence: storm })]),
    );
    const counts = element(page, 'figure', 'storm-counts')!;
    expect(counts).toContain('<svg');
    expect(textOf(counts)).toContain('The counts did not settle at 3: 2 of 3 members ended there (final counts: 2 at 3, 1 at 2).');
    // Nothing changed after 60 ms: the chart stops soon after, the caption says how long the storm was watched.
    expect(textOf(counts)).toContain('No count changed after 60 ms; the storm was watched until 900 ms.');
    expect(counts).not.toContain('>900 ms<');
    const verdict = textOf(element(page, 'section', 'verdict')!);
    expect(verdict).toContain('✗ presence did not settle: 2 of 3 members ended at 3 (2 at 3, 1 at 2)');
    expect(verdict).toContain("✓ no member's count ever went down");
    expect(element(page, 'figure', 'storm-ack-latency')).toContain('data-count="1"');
  });
});
