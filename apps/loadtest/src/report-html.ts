import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { LatencyPercentiles } from './latency-recorder.js';
import type { LoadTestReport } from './report.js';
import { formatSummary } from './summary.js';

interface Series {
  name: string;
  color: string;
  values: readonly (number | null)[];
}

const COLORS = ['#2563eb', '#f59e0b', '#dc2626', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

const fmt = (x: number): string =>
  Math.abs(x) >= 1000 ? x.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(+x.toPrecision(3));

/** An inline SVG line chart over the run's seconds; `band` shades the measured window. */
export function lineChart(
  title: string,
  unit: string,
  xs: readonly number[],
  series: readonly Series[],
  band: [number, number] | null,
): string {
  const width = 880;
  const height = 260;
  const left = 64;
  const right = 16;
  const top = 36;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x0 = xs.length > 0 ? Math.min(...xs) : 0;
  const x1 = xs.length > 0 ? Math.max(...xs, x0 + 1) : 1;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const yMax = niceMax(all.length > 0 ? Math.max(...all) : 0);
  const px = (x: number): number => left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number): number => top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escape(title)}">`,
  );
  parts.push(`<text x="${left}" y="20" font-size="14" font-weight="600">${escape(title)}</text>`);
  if (band !== null) {
    const bx0 = px(Math.max(x0, band[0]));
    const bx1 = px(Math.min(x1, band[1] + 1));
    if (bx1 > bx0)
      parts.push(
        `<rect x="${bx0.toFixed(1)}" y="${top}" width="${(bx1 - bx0).toFixed(1)}" height="${plotH}" fill="#f1f5f9"><title>measured window</title></rect>`,
      );
  }
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e2e8f0"/>`);
    parts.push(`<text x="${left - 6}" y="${(py(y) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#475569">${fmt(y)}</text>`);
  }
  const xStep = Math.max(1, Math.ceil((x1 - x0) / 10));
  for (let x = Math.ceil(x0); x <= x1; x += xStep) {
    parts.push(`<text x="${px(x).toFixed(1)}" y="${height - bottom + 16}" font-size="11" text-anchor="middle" fill="#475569">${x}s</text>`);
  }
  parts.push(
    `<text x="14" y="${top + plotH / 2}" font-size="11" fill="#475569" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${escape(unit)}</text>`,
  );
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#94a3b8"/>`);
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#94a3b8"/>`);
  let legendX = width - right;
  for (const s of [...series].reverse()) {
    const w = s.name.length * 7 + 24;
    legendX -= w;
    parts.push(`<rect x="${legendX}" y="10" width="12" height="4" fill="${s.color}"/>`);
    parts.push(`<text x="${legendX + 16}" y="16" font-size="11">${escape(s.name)}</text>`);
  }
  for (const s of series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      const x = xs[i];
      if (v === null || x === undefined || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${px(x).toFixed(1)} ${py(v).toFixed(1)} `;
      pen = true;
    });
    if (d !== '')
      parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${escape(s.name)}</title></path>`);
    // Lone points (a one-second run) stay visible.
    s.values.forEach((v, i) => {
      const x = xs[i];
      if (v !== null && x !== undefined && Number.isFinite(v))
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(v).toFixed(1)}" r="1.8" fill="${s.color}"/>`);
    });
  }
  parts.push('</svg>');
  return parts.join('');
}

function latencyTable(
  rows: readonly { name: string; latency: LatencyPercentiles; deliveries: number; perSecond: number; lost: number }[],
): string {
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
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A self-contained page (inline SVG and CSS, no script from anywhere): summary, charts, figures, and the JSON report. */
export function renderHtmlReport(report: LoadTestReport): string {
  const t = report.timeline;
  const xs = t.map((p) => p.second);
  const band: [number, number] | null =
    report.marks.measureStartSecond !== null && report.marks.measureEndSecond !== null
      ? [report.marks.measureStartSecond, report.marks.measureEndSecond]
      : null;
  const withDeliveries = (pick: (p: (typeof t)[number]) => number) => t.map((p) => (p.deliveries > 0 ? pick(p) : null));
  const charts = [
    lineChart(
      'Latency over time (send → receipt, per second)',
      'ms',
      xs,
      [
        { name: 'p50', color: COLORS[0]!, values: withDeliveries((p) => p.p50) },
        { name: 'p90', color: COLORS[1]!, values: withDeliveries((p) => p.p90) },
        { name: 'p99', color: COLORS[2]!, values: withDeliveries((p) => p.p99) },
      ],
      band,
    ),
    lineChart(
      'Throughput over time',
      'per second',
      xs,
      [{ name: 'deliveries/s', color: COLORS[0]!, values: t.map((p) => p.deliveries) }],
      band,
    ),
    lineChart(
      'Messages sent over time',
      'per second',
      xs,
      [{ name: 'messages sent/s', color: COLORS[3]!, values: t.map((p) => p.sent) }],
      band,
    ),
    lineChart('Connected clients', 'clients', xs, [{ name: 'connected', color: COLORS[4]!, values: t.map((p) => p.connected) }], band),
    lineChart(
      'Generator CPU',
      '% of one core',
      xs,
      report.generator.workers.map((w, i) => ({
        name: `worker ${w.worker}`,
        color: COLORS[i % COLORS.length]!,
        values: t.map((p) => p.cpuPercent[i] ?? null),
      })),
      band,
    ),
  ];
  const latencyRows = [
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
  ];
  const verdict = report.passed
    ? '<p class="pass">PASS</p>'
    : `<p class="fail">FAIL</p><ul>${report.failedChecks.map((c) => `<li>${escape(c)}</li>`).join('')}</ul>`;
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
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
pre { background: #f8fafc; border: 1px solid #e2e8f0; padding: 12px; overflow-x: auto; font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #e2e8f0; padding: 4px 8px; text-align: right; } thead th, tbody th { background: #f8fafc; } tbody th { text-align: left; }
.pass { color: #059669; font-weight: 700; font-size: 18px; } .fail { color: #dc2626; font-weight: 700; font-size: 18px; }
figure { margin: 16px 0; } details { margin-top: 24px; }
</style>
</head>
<body>
<h1>realtime-loadtest: ${escape(report.scenario)}</h1>
<p>${escape(report.startedAt)} → ${escape(report.endedAt)} (${report.wallSeconds} s) · targets ${report.options.targets.map(escape).join(', ')}</p>
${verdict}
${warnings}
<h2>Summary</h2>
<pre>${escape(formatSummary(report))}</pre>
<h2>Latency and deliveries (measured window)</h2>
${latencyTable(latencyRows)}
<h2>Over time</h2>
<p>Seconds from the start of the run; the shaded band is the measured window (after the warm-up).</p>
${charts.map((c) => `<figure>${c}</figure>`).join('\n')}
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
