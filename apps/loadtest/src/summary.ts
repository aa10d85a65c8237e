import { formatDuration } from './duration.js';
import type { LatencyPercentiles } from './latency-recorder.js';
import type { LoadTestReport, RateStats } from './report.js';

const n = (x: number): string => x.toLocaleString('en-US');
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      '  ' +
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('   ')
        .trimEnd(),
  );
}

function latencyRows(columns: readonly LatencyPercentiles[]): string[][] {
  const pick: [string, (l: LatencyPercentiles) => number][] = [
    ['latency p50 (ms)', (l) => l.p50],
    ['latency p90 (ms)', (l) => l.p90],
    ['latency p99 (ms)', (l) => l.p99],
    ['latency p99.9 (ms)', (l) => l.p999],
    ['latency max (ms)', (l) => l.max],
  ];
  return pick.map(([label, f]) => [label, ...columns.map((l) => (l.count === 0 ? '-' : ms(f(l))))]);
}

function rateLine(label: string, r: RateStats): string {
  const latency = r.latency.count === 0 ? '' : ` (p50 ${ms(r.latency.p50)} ms, p99 ${ms(r.latency.p99)} ms)`;
  return `  ${label.padEnd(11)} ${n(r.ok)} ok, ${n(r.failed)} failed, ${n(r.perSecond)}/s${latency}`;
}

function shortTarget(url: string): string {
  return url.replace(/^https?:\/\//, '');
}

/** The end-of-run summary printed on stdout. */
export function formatSummary(report: LoadTestReport): string {
  const o = report.options;
  const lines: string[] = [];
  const messaging = ['fanout', 'rooms', 'churn'].includes(report.scenario);
  const what =
    report.scenario === 'rooms'
      ? `${o.channels * o.roomsPerChannel} rooms × ${o.membersPerRoom} members${o.placement === 'room-local' ? ' (room-local: each room on one target)' : ''}`
      : report.scenario === 'fanout' || report.scenario === 'churn'
        ? `${o.publishers} publisher${o.publishers === 1 ? '' : 's'}`
        : '';
  const sending = messaging
    ? `, ${n(o.rate)} msg/s × ${o.size} B, ${o.messages !== null ? `${n(o.messages)} messages` : formatDuration(o.durationMs ?? 0)} + ${formatDuration(o.warmupMs)} warm-up`
    : '';
  lines.push(
    `realtime-loadtest ${report.scenario}: ${n(o.clients)} clients on ${o.targets.length} target${o.targets.length === 1 ? '' : 's'} (${o.transport})` +
      (what ? `, ${what}` : '') +
      sending +
      `, ${o.workers} worker${o.workers === 1 ? '' : 's'}, ${report.wallSeconds} s`,
  );
  lines.push('');

  if (messaging) {
    const columns = [
      {
        name: 'overall',
        deliveries: report.deliveries.measured,
        perSecond: report.deliveriesPerSecond,
        lost: report.lost,
        latency: report.latency,
      },
    ];
    if (report.perTarget.length > 1) {
      for (const t of report.perTarget) {
        columns.push({
          name: shortTarget(t.target),
          deliveries: t.measuredDeliveries,
          perSecond: t.deliveriesPerSecond,
          lost: t.lost,
          latency: t.latency,
        });
      }
    }
    lines.push(
      ...table([
        ['', ...columns.map((c) => c.name)],
        ['deliveries (measured)', ...columns.map((c) => n(c.deliveries))],
        ['deliveries/s', ...columns.map((c) => n(c.perSecond))],
        ...latencyRows(columns.map((c) => c.latency)),
        ['lost', ...columns.map((c) => n(c.lost))],
      ]),
    );
    lines.push('');
  }

  lines.push(
    `  clients     ${n(report.clients.peakConnected)}/${n(report.clients.planned)} connected at peak, ${n(report.clients.connectedAtEnd)} at the end`,
  );
  lines.push(rateLine('connects', report.connect));
  lines.push(rateLine('joins', report.joins));
  if (messaging) {
    const m = report.messages;
    lines.push(
      `  messages    ${n(m.sent)} sent (${n(m.measured)} measured, ${n(m.perSecond)}/s over ${report.measurement.seconds} s), ${n(m.refused)} refused, ${n(m.ackTimeouts)} unacknowledged`,
    );
    lines.push(
      `  integrity   lost ${n(report.lost)} · duplicated ${n(report.duplicated)} · out-of-order ${n(report.outOfOrder)}  ` +
        `(${n(report.deliveries.received)} of ${n(report.deliveries.expected)} expected deliveries received; ${n(report.deliveries.total)} deliveries in all)`,
    );
  }
  if (report.churn !== null) {
    const c = report.churn;
    lines.push(
      `  churn       ${n(c.churners)} churners: ${n(c.leaves)} leaves, ${n(c.rejoins)} rejoins, ${n(c.disconnects)} disconnects, ${n(c.reconnects)} reconnects (span ${c.spanMs} ms)`,
    );
  }
  const p = report.presence;
  if (p !== null) {
    const t = (x: number | null): string => (x === null ? '-' : `${n(x)} ms`);
    const after = (x: number | null, what: string): string =>
      x !== null && x < 0 ? `${n(-x)} ms before ${what}` : `${t(x)} after ${what}`;
    lines.push(
      `  presence    settled ${p.settled ? 'yes' : 'NO'} at ${p.settledCount ?? '-'} (expected ${n(p.expected)}; ${n(p.settledMembers)}/${n(p.members)} members), ` +
        `count decreases ${n(p.decreases)} (${n(p.membersWithDecrease)} members)`,
    );
    lines.push(
      `              all joins acked in ${t(p.timeToAckAllMs)}; counts settled ${t(p.timeToSettleMs)} after the storm started, ` +
        `${after(p.lastAckToSettleMs, 'the last ack')}, ${after(p.lastJoinEventToSettleMs, 'the last join-channel')}`,
    );
    const a = p.ackLatency;
    if (a.count > 0) {
      lines.push(
        `              join acks (emit → ack) p50 ${ms(a.p50)} ms, p90 ${ms(a.p90)} ms, p99 ${ms(a.p99)} ms, max ${ms(a.max)} ms (${n(a.count)} joins)`,
      );
    }
    const spread = (s: { min: number; median: number; max: number }): string => `${s.min}/${s.median}/${s.max}`;
    lines.push(
      `              online-users per member min/median/max ${spread(p.onlineUsersPerMember)}, ` +
        `join-channel per member ${spread(p.joinEventsPerMember)}`,
    );
  }
  if (report.failures.total > 0) {
    lines.push(`  failures    ${n(report.failures.total)}:`);
    for (const [reason, count] of Object.entries(report.failures.byReason).sort((a, b) => b[1] - a[1])) {
      lines.push(`                ${n(count).padStart(7)}  ${reason}  (e.g. ${report.failures.examples[reason] ?? reason})`);
    }
  }
  for (const c of report.generator.workers) {
    lines.push(
      `  generator   worker ${c.worker} (pid ${c.pid}): cpu ${c.busyPercent}% of a core while busy (peak ${c.peakPercent}%, mean ${c.meanPercent}%), ` +
        `event-loop delay p99 ${c.eventLoopDelayP99Ms} ms`,
    );
  }
  if (messaging) lines.push(`              max send lag ${report.generator.maxSendLagMs} ms`);
  for (const warning of report.warnings) lines.push(`  WARNING     ${warning}`);
  lines.push('');
  if (report.passed) lines.push('  result      PASS');
  else {
    lines.push('  result      FAIL');
    for (const check of report.failedChecks) lines.push(`              - ${check}`);
  }
  return lines.join('\n') + '\n';
}
