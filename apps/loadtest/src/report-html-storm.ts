import { barChart, COLORS, lineChart, noDataNote, type Marker } from './html-charts.js';
import { finalCountsText } from './scenarios/storm-checks.js';
import type { CountPoint } from './scenarios/storm-counts.js';
import type { PresenceReport } from './scenarios/storm-report.js';

const n = (x: number): string => x.toLocaleString('en-US');

function ackLatency(p: PresenceReport): string {
  const a = p.ackLatency;
  const title = 'Join acknowledgement latency (emit join-channel → ack)';
  if (a.count === 0) return noDataNote('storm-ack-latency', title, 'no join was acknowledged');
  const cells: [string, string, string][] = [
    ['count', 'joins acknowledged', n(a.count)],
    ['p50', 'p50', `${a.p50} ms`],
    ['p90', 'p90', `${a.p90} ms`],
    ['p99', 'p99', `${a.p99} ms`],
    ['max', 'max', `${a.max} ms`],
    ['min', 'min', `${a.min} ms`],
    ['mean', 'mean', `${a.mean} ms`],
  ];
  const table =
    `<table id="storm-ack-percentiles"><thead><tr>${cells.map(([, h]) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody><tr>${cells.map(([stat, , v]) => `<td data-stat="${stat}">${v}</td>`).join('')}</tr></tbody></table>`;
  const marks: Marker[] = [
    { at: a.p50, label: `p50 ${a.p50} ms` },
    { at: a.p90, label: `p90 ${a.p90} ms` },
    { at: a.p99, label: `p99 ${a.p99} ms` },
  ];
  const failed = p.ackFailures > 0 ? ` ${n(p.ackFailures)} joins were not acknowledged and are not in it.` : '';
  return (
    table +
    barChart({
      id: 'storm-ack-latency',
      title,
      xUnit: ' ms',
      yUnit: 'joins',
      bins: p.ackLatencyBins,
      integer: false,
      vLines: marks,
      noData: 'no join was acknowledged',
      caption: `${n(a.count)} joins by the time from emitting join-channel to its acknowledgement.${failed}`,
    })
  );
}

function settleText(p: PresenceReport): string {
  const rel = (x: number | null, what: string): string | null =>
    x === null ? null : x < 0 ? `${n(-x)} ms before ${what}` : `${n(x)} ms after ${what}`;
  if (p.settled && p.timeToSettleMs !== null) {
    const context = [rel(p.lastAckToSettleMs, 'the last ack'), rel(p.lastJoinEventToSettleMs, 'the last join-channel')].filter(
      (s): s is string => s !== null,
    );
    return `Every member's count settled at ${n(p.expected)}, ${n(p.timeToSettleMs)} ms after the storm started${context.length > 0 ? ` (${context.join(', ')})` : ''}.`;
  }
  return `The counts did not settle at ${n(p.expected)}: ${n(p.settledMembers)} of ${n(p.members)} members ended there (final counts: ${finalCountsText(p.finalCounts)}).`;
}

/**
 * The points worth drawing: up to a little after the last change. Late join-channel events can keep a
 * storm open for seconds after the counts settled, and drawn to the end that squeezes the settling into
 * a sliver at the left. Nothing is hidden: after the last change every count stays as it was (the caption
 * says until when).
 */
function drawnPoints(p: PresenceReport): { points: CountPoint[]; note: string } {
  const all = p.countOverTime.points;
  let last = 0;
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1]!, all[i]!];
    if (a.min !== b.min || a.median !== b.median || a.max !== b.max || a.told !== b.told) last = i;
  }
  const lastChangeMs = all[last]?.atMs ?? 0;
  const endMs = all.at(-1)?.atMs ?? 0;
  // The markers (all acked, settled) stay inside the view too.
  const lastEventMs = Math.max(lastChangeMs, p.timeToAckAllMs ?? 0, p.timeToSettleMs ?? 0);
  const viewEnd = lastEventMs + Math.max(50, lastEventMs / 4);
  if (viewEnd >= endMs) return { points: all, note: '' };
  return {
    points: all.filter((q) => q.atMs <= viewEnd),
    note: ` No count changed after ${n(lastChangeMs)} ms; the storm was watched until ${n(endMs)} ms.`,
  };
}

function countOverTime(p: PresenceReport): string {
  const { points, note } = drawnPoints(p);
  const vLines: Marker[] = [];
  if (p.timeToAckAllMs !== null) vLines.push({ at: p.timeToAckAllMs, label: `all acked ${n(p.timeToAckAllMs)} ms` });
  if (p.timeToSettleMs !== null) vLines.push({ at: p.timeToSettleMs, label: `settled ${n(p.timeToSettleMs)} ms` });
  return lineChart({
    id: 'storm-counts',
    title: 'Count seen by members over time (online-users)',
    yUnit: 'online users',
    xUnit: ' ms',
    xs: points.map((q) => q.atMs),
    series: [
      { name: 'max', color: COLORS[2]!, values: points.map((q) => q.max) },
      { name: 'median', color: COLORS[0]!, values: points.map((q) => q.median) },
      { name: 'min', color: COLORS[1]!, values: points.map((q) => q.min) },
    ],
    hLines: [{ at: p.expected, label: `N = ${n(p.expected)}` }],
    stepped: true,
    vLines,
    noData: 'no member was told a count (no online-users announcement arrived)',
    caption:
      `${settleText(p)} Each member's count is the last online-users count it was told (0 before the first), ` +
      `read every ${p.countOverTime.stepMs} ms from the storm's start.${note}`,
  });
}

function eventsPerMember(p: PresenceReport): string {
  const rows: [string, PresenceReport['joinEventsPerMember']][] = [
    ['join-channel events', p.joinEventsPerMember],
    ['online-users announcements', p.onlineUsersPerMember],
  ];
  const stats = ['min', 'median', 'mean', 'max'] as const;
  // Every member at 0 events is one bar saying nothing arrived: the note says so in words.
  const bins = (s: PresenceReport['joinEventsPerMember']) => (s.max === 0 ? [] : s.distribution);
  const table =
    `<table id="storm-events-per-member"><thead><tr><th>per member</th>${stats.map((s) => `<th>${s}</th>`).join('')}</tr></thead><tbody>` +
    rows
      .map(
        ([name, s]) =>
          `<tr data-event="${name.split(' ')[0]}"><th>${name}</th>${stats.map((k) => `<td data-stat="${k}">${s[k]}</td>`).join('')}</tr>`,
      )
      .join('') +
    '</tbody></table>';
  return (
    table +
    barChart({
      id: 'storm-join-events',
      title: 'join-channel events per member',
      xUnit: '',
      yUnit: 'members',
      bins: bins(p.joinEventsPerMember),
      integer: true,
      noData: 'no member received a join-channel event',
      caption: 'Members by how many join-channel events (for this channel) they received before the storm ended.',
    }) +
    barChart({
      id: 'storm-online-users-events',
      title: 'online-users announcements per member',
      xUnit: '',
      yUnit: 'members',
      bins: bins(p.onlineUsersPerMember),
      integer: true,
      noData: 'no member was told a count',
      caption: 'Members by how many online-users announcements they received before the storm ended.',
    })
  );
}

/** The join-storm section: ack latency, counts over time and presence events per member. */
export function stormSection(p: PresenceReport): string {
  return `<section id="storm">
<h2>Join storm</h2>
<p>${n(p.members)} members joined one channel at the same instant; ${n(p.acked)} joins were acknowledged. Every member should see the count settle at N = ${n(p.expected)} and never go down. Times are ms from the storm's start.</p>
<h3>Join acknowledgement latency</h3>
${ackLatency(p)}
<h3>Count seen by members</h3>
${countOverTime(p)}
<h3>Presence events per member</h3>
${eventsPerMember(p)}
</section>`;
}
