import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../src/index.js';
import type { TimelinePoint } from '../src/timeline.js';
import { element, expectNoData } from './html-page.js';
import { reportOf, workerResult } from './worker-results.js';

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
});
