import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { COLORS, lineChart, noDataNote } from './html-charts.js';
import { escape } from './html-escape.js';
import type { LatencyPercentiles } from './latency-recorder.js';
import type { LoadTestReport } from './report.js';
import { stormSection } from './report-html-storm.js';
import { verdictSection } from './report-html-verdict.js';
import { formatSummary } from './summary.js';

interface LatencyRow {
  name: string;
  latency: LatencyPercentiles;
  deliveries: number;
  perSecond: number;
  lost: number;
}

function latencyTable(rows: readonly LatencyRow[]): string {
  const head = ['', 'deliveries', 'deliveries/s', 'lost', 'p50', 'p90', 'p99', 'p99.9', 'max'].map((h) => `<th>${h}</th>`).join('');
  const body = rows
    .map((r) => {
      const l = r.latency;
      const cells = [
        r.deliveries.toLocaleString('en-US'),
        r.perSecond.toLocaleString('en-US'),
        String(r.lost),
        l.p50,
        l.p90,
        l.p99,
        l.p999,
        l.max,
      ].map((c) => `<td>${typeof c === 'number' ? `${c} ms` : escape(c)}</td>`);
      return `<tr><th>${escape(r.name)}</th>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table id="latency-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The per-second charts of every scenario; each says why when it has nothing to show. */
function timelineCharts(report: LoadTestReport): string[] {
  const t = report.timeline;
  const xs = t.map((p) => p.second);
  // A second's bucket spans [s, s + 1), so the window ends one second after its last bucket starts.
  const band: [number, number] | null =
    report.marks.measureStartSecond !== null && report.marks.measureEndSecond !== null
      ? [report.marks.measureStartSecond, report.marks.measureEndSecond + 1]
      : null;
  const messaging = ['fanout', 'rooms', 'churn'].includes(report.scenario);
  const sendsNone = `the ${report.scenario} scenario sends no messages`;
  const noDeliveries = messaging ? 'no message was delivered' : sendsNone;
  const withDeliveries = (pick: (p: (typeof t)[number]) => number) => t.map((p) => (p.deliveries > 0 ? pick(p) : null));
  const common = { xs, xUnit: 's', xMinStep: 1, band };
  return [
    lineChart({
      ...common,
      id: 'latency-over-time',
      title: 'Latency over time (send → receipt, per second)',
      yUnit: 'ms',
      series: [
        { name: 'p50', color: COLORS[0]!, values: withDeliveries((p) => p.p50) },
        { name: 'p90', color: COLORS[1]!, values: withDeliveries((p) => p.p90) },
        { name: 'p99', color: COLORS[2]!, values: withDeliveries((p) => p.p99) },
      ],
      noData: noDeliveries,
    }),
    lineChart({
      ...common,
      id: 'throughput-over-time',
      title: 'Throughput over time',
      yUnit: 'per second',
      series: [{ name: 'deliveries/s', color: COLORS[0]!, values: t.map((p) => p.deliveries) }],
      noData: noDeliveries,
    }),
    lineChart({
      ...common,
      id: 'sent-over-time',
      title: 'Messages sent over time',
      yUnit: 'per second',
      series: [{ name: 'messages sent/s', color: COLORS[3]!, values: t.map((p) => p.sent) }],
      noData: messaging ? 'no message was sent' : sendsNone,
    }),
    lineChart({
      ...common,
      id: 'connected-over-time',
      title: 'Connected clients',
      yUnit: 'clients',
      series: [{ name: 'connected', color: COLORS[4]!, values: t.map((p) => p.connected) }],
      noData: 'no client was connected at the end of any second',
    }),
    lineChart({
      ...common,
      id: 'cpu-over-time',
      title: 'Generator CPU',
      yUnit: '% of one core',
      series: report.generator.workers.map((w, i) => ({
        name: `worker ${w.worker}`,
        color: COLORS[i % COLORS.length]!,
        values: t.map((p) => p.cpuPercent[i] ?? null),
      })),
      noData: 'no generator worker sent a per-second CPU sample',
    }),
  ];
}

function latencySection(report: LoadTestReport): string {
  if (report.latency.count === 0) {
    const messaging = ['fanout', 'rooms', 'churn'].includes(report.scenario);
    const why = messaging ? 'no measured message was delivered' : `the ${report.scenario} scenario sends no messages`;
    return noDataNote('latency-table', 'Delivery latency', why);
  }
  return latencyTable([
    {
      name: 'overall',
      latency: report.latency,
      deliveries: report.deliveries.measured,
      perSecond: report.deliveriesPerSecond,
      lost: report.lost,
    },
    ...report.perTarget.map((p) => ({
      name: p.target,
      latency: p.latency,
      deliveries: p.measuredDeliveries,
      perSecond: p.deliveriesPerSecond,
      lost: p.lost,
    })),
  ]);
}

/**
 * A self-contained page (inline SVG and CSS, no script from anywhere): the
 * verdict, the scenario's own figures (join-storm), the summary, latency,
 * per-second charts, and the JSON report.
 */
export function renderHtmlReport(report: LoadTestReport): string {
  const warnings =
    report.warnings.length === 0 ? '' : `<h2>Warnings</h2><ul>${report.warnings.map((w) => `<li>${escape(w)}</li>`).join('')}</ul>`;
  // `</` never appears inside the embedded JSON, so it cannot end the script element.
  const json = JSON.stringify(report, null, 2).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>realtime-loadtest ${escape(report.scenario)} · ${escape(report.startedAt)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, Segoe UI, sans-serif; margin: 24px auto; max-width: 940px; color: #0f172a; padding: 0 12px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; } h3 { font-size: 14px; margin-top: 20px; }
pre { background: #f8fafc; border: 1px solid #e2e8f0; padding: 12px; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #e2e8f0; padding: 4px 8px; text-align: right; } thead th, tbody th { background: #f8fafc; } tbody th { text-align: left; }
.pass { color: #059669; font-weight: 700; font-size: 18px; } .fail { color: #dc2626; font-weight: 700; font-size: 18px; }
ul.checks { list-style: none; padding-left: 4px; } ul.held span { color: #059669; } ul.failed span { color: #dc2626; }
figure { margin: 16px 0; } figcaption { font-size: 13px; color: #475569; } figure.no-data p { color: #64748b; margin: 4px 0; }
details { margin-top: 24px; }
</style>
</head>
<body>
<h1>realtime-loadtest: ${escape(report.scenario)}</h1>
<p>${escape(report.startedAt)} → ${escape(report.endedAt)} (${report.wallSeconds} s) · targets ${report.options.targets.map(escape).join(', ')}</p>
${verdictSection(report)}
${warnings}
${report.presence === null ? '' : stormSection(report.presence)}
<h2>Summary</h2>
<pre id="summary">${escape(formatSummary(report))}</pre>
<h2>Latency and deliveries (measured window)</h2>
${latencySection(report)}
<h2>Over time</h2>
<p>Seconds from the start of the run; the shaded band is the measured window (after the warm-up).</p>
${timelineCharts(report).join('\n')}
<details><summary>Full JSON report</summary><pre id="report-json">${escape(json)}</pre></details>
<script type="application/json" id="report">${json}</script>
</body>
</html>
`;
}

/** Writes the HTML report; returns the absolute path. */
export async function writeHtmlReport(file: string, report: LoadTestReport): Promise<string> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderHtmlReport(report));
  return path;
}
