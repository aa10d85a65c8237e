/**
 * Inline SVG charts for the HTML report, each wrapped in its own <figure>.
 * A chart with nothing to draw is replaced by a one-line "no data: <why>"
 * note: an empty frame, or a flat line at zero, tells the reader less than
 * a sentence saying why there is nothing.
 */
import type { Bin } from './distribution.js';
import { niceStep } from './distribution.js';
import { escape } from './html-escape.js';

export interface Series {
  name: string;
  color: string;
  /** One per x; null where there is no value (the line breaks there). */
  values: readonly (number | null)[];
}

/** A labelled reference line: horizontal at a y value, or vertical at an x value. */
export interface Marker {
  at: number;
  label: string;
}

export interface LineChartSpec {
  /** The figure's id (for links and tests). */
  id: string;
  title: string;
  yUnit: string;
  /** The x axis's unit, appended to tick labels (`s`, ` ms`). */
  xUnit: string;
  xs: readonly number[];
  /** The smallest spacing of x ticks (1 for whole seconds). */
  xMinStep?: number;
  series: readonly Series[];
  /** Shaded x range (the measured window). */
  band?: readonly [number, number] | null;
  /** Horizontal reference lines (the expected count). */
  hLines?: readonly Marker[];
  /** Vertical reference lines (when something happened). */
  vLines?: readonly Marker[];
  /** Draw each series as steps (a value holds until the next one), for values that change at instants. */
  stepped?: boolean;
  /** Why there is nothing to draw, when there is not. */
  noData: string;
  caption?: string;
}

export interface BarChartSpec {
  id: string;
  title: string;
  xUnit: string;
  yUnit: string;
  bins: readonly Bin[];
  /** Bins of whole numbers (events per member): labelled by value rather than by edge. */
  integer: boolean;
  vLines?: readonly Marker[];
  noData: string;
  caption?: string;
}

export const COLORS = ['#2563eb', '#f59e0b', '#dc2626', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];

const WIDTH = 880;
const HEIGHT = 260;
const LEFT = 64;
const RIGHT = 32;
const TOP = 44;
const BOTTOM = 36;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;
/** Whole-number histograms span at least this many values. */
const MIN_INTEGER_BARS = 11;

/** Gridlines every `step` up to `yMax` (about 4 of them), both round, so every label reads easily (no 62.5). */
function yAxis(max: number): { yMax: number; step: number } {
  if (max <= 0) return { yMax: 1, step: 0.25 };
  const step = niceStep(max / 4);
  return { yMax: Math.ceil(max / step - 1e-9) * step, step };
}

/** Tick and value labels: 3 significant digits, thousands separated. */
export const fmt = (x: number): string =>
  Math.abs(x) >= 1000 ? x.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(+x.toPrecision(3));

const finite = (v: number | null | undefined): v is number => v !== null && v !== undefined && Number.isFinite(v);

/** The note that stands in for a chart with nothing to draw. */
export function noDataNote(id: string, title: string, why: string): string {
  return `<figure id="${escape(id)}" class="no-data"><p><strong>${escape(title)}</strong>: no data: ${escape(why)}</p></figure>`;
}

function figure(id: string, svg: string, caption: string | undefined): string {
  const text = caption === undefined ? '' : `<figcaption>${escape(caption)}</figcaption>`;
  return `<figure id="${escape(id)}">${svg}${text}</figure>`;
}

interface Frame {
  parts: string[];
  px: (x: number) => number;
  py: (y: number) => number;
}

/** Title, legend, y gridlines with labels and the axes; the caller adds x ticks and marks. */
function frame(
  title: string,
  yUnit: string,
  x0: number,
  x1: number,
  max: number,
  legend: readonly { name: string; color: string }[],
): Frame {
  const { yMax, step } = yAxis(max);
  const px = (x: number): number => LEFT + ((x - x0) / (x1 - x0)) * PLOT_W;
  const py = (y: number): number => TOP + PLOT_H - (y / yMax) * PLOT_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" aria-label="${escape(title)}">`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="600">${escape(title)}</text>`,
  ];
  let legendX = LEFT;
  for (const item of legend) {
    parts.push(`<rect x="${legendX}" y="27" width="12" height="4" fill="${item.color}"/>`);
    parts.push(`<text x="${legendX + 16}" y="33" font-size="11">${escape(item.name)}</text>`);
    legendX += item.name.length * 7 + 32;
  }
  for (let i = 0; i * step <= yMax + 1e-9; i++) {
    const y = Number((i * step).toPrecision(12));
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e2e8f0"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${(py(y) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#475569">${fmt(y)}</text>`);
  }
  const midY = TOP + PLOT_H / 2;
  parts.push(
    `<text x="14" y="${midY}" font-size="11" fill="#475569" transform="rotate(-90 14 ${midY})" text-anchor="middle">${escape(yUnit)}</text>`,
  );
  parts.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + PLOT_H}" stroke="#94a3b8"/>`);
  parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${TOP + PLOT_H}" y2="${TOP + PLOT_H}" stroke="#94a3b8"/>`);
  return { parts, px, py };
}

function xTick(f: Frame, x: number, label: string): void {
  f.parts.push(
    `<text x="${f.px(x).toFixed(1)}" y="${HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle" fill="#475569">${escape(label)}</text>`,
  );
}

function vLines(f: Frame, lines: readonly Marker[]): void {
  lines.forEach((m, i) => {
    const x = f.px(m.at).toFixed(1);
    f.parts.push(
      `<line class="marker" data-value="${m.at}" x1="${x}" x2="${x}" y1="${TOP}" y2="${TOP + PLOT_H}" stroke="#334155" stroke-dasharray="3 3"/>`,
    );
    // Staggered, so two markers close together stay readable; left of the line near the right edge, so never cut off.
    const nearEdge = +x > WIDTH - RIGHT - 130;
    const tx = (nearEdge ? +x - 4 : +x + 4).toFixed(1);
    const anchor = nearEdge ? ' text-anchor="end"' : '';
    f.parts.push(`<text x="${tx}" y="${TOP + 11 + 13 * i}" font-size="11" fill="#334155"${anchor}>${escape(m.label)}</text>`);
  });
}

/** A line chart; the note instead when no series has a non-zero value. */
export function lineChart(spec: LineChartSpec): string {
  const values = spec.series.flatMap((s) => s.values.filter(finite));
  if (!values.some((v) => v !== 0)) return noDataNote(spec.id, spec.title, spec.noData);
  const { xs } = spec;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const f = frame(spec.title, spec.yUnit, x0, x1, Math.max(...values, ...(spec.hLines ?? []).map((m) => m.at)), spec.series);
  const band = spec.band;
  if (band !== null && band !== undefined) {
    const bx0 = f.px(Math.max(x0, band[0]));
    const bx1 = f.px(Math.min(x1, band[1]));
    if (bx1 > bx0) {
      f.parts.splice(
        2,
        0,
        `<rect x="${bx0.toFixed(1)}" y="${TOP}" width="${(bx1 - bx0).toFixed(1)}" height="${PLOT_H}" fill="#f1f5f9"><title>measured window</title></rect>`,
      );
    }
  }
  const step = Math.max(spec.xMinStep ?? 0, niceStep((x1 - x0) / 10));
  for (let x = Math.ceil(x0 / step) * step; x <= x1 + 1e-9; x += step) xTick(f, x, `${fmt(x)}${spec.xUnit}`);
  for (const m of spec.hLines ?? []) {
    const y = f.py(m.at).toFixed(1);
    f.parts.push(
      `<line class="expected" data-value="${m.at}" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" stroke="#059669" stroke-width="1.2" stroke-dasharray="6 4"/>`,
    );
    f.parts.push(
      `<text x="${WIDTH - RIGHT - 4}" y="${(+y - 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#059669">${escape(m.label)}</text>`,
    );
  }
  vLines(f, spec.vLines ?? []);
  for (const s of spec.series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      const x = xs[i];
      if (!finite(v) || x === undefined) {
        pen = false;
        return;
      }
      const [sx, sy] = [f.px(x).toFixed(1), f.py(v).toFixed(1)];
      d += !pen ? `M${sx} ${sy} ` : spec.stepped ? `H${sx} V${sy} ` : `L${sx} ${sy} `;
      pen = true;
    });
    if (d !== '') {
      f.parts.push(
        `<path data-series="${escape(s.name)}" d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${escape(s.name)}</title></path>`,
      );
    }
    // A point with no neighbour draws no line, so it gets a dot (a one-second run, a value between gaps).
    s.values.forEach((v, i) => {
      const x = xs[i];
      const lone = !finite(s.values[i - 1]) && !finite(s.values[i + 1]);
      if (lone && finite(v) && x !== undefined)
        f.parts.push(`<circle cx="${f.px(x).toFixed(1)}" cy="${f.py(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    });
  }
  f.parts.push('</svg>');
  return figure(spec.id, f.parts.join(''), spec.caption);
}

/** A histogram of bins; the note instead when every bin is empty. */
export function barChart(spec: BarChartSpec): string {
  const { bins } = spec;
  if (!bins.some((b) => b.count > 0)) return noDataNote(spec.id, spec.title, spec.noData);
  const width = bins[0]!.to - bins[0]!.from;
  // A few whole-number bars get room around them: one bar across the whole chart reads as a block, not a bar.
  const pad = spec.integer && width === 1 ? Math.max(0, Math.floor((MIN_INTEGER_BARS - bins.length) / 2)) : 0;
  const x0 = Math.max(Math.min(0, bins[0]!.from), bins[0]!.from - pad);
  const x1 = bins.at(-1)!.to + pad;
  const f = frame(spec.title, spec.yUnit, x0, x1, Math.max(...bins.map((b) => b.count)), []);
  const range = (b: Bin): string =>
    spec.integer ? (width === 1 ? fmt(b.from) : `${fmt(b.from)}–${fmt(b.to - 1)}`) : `${fmt(b.from)}–${fmt(b.to)}`;
  for (const b of bins) {
    const x = f.px(b.from) + 1;
    const w = Math.max(1, f.px(b.to) - f.px(b.from) - 2);
    const y = f.py(b.count);
    f.parts.push(
      `<rect class="bar" data-from="${b.from}" data-to="${b.to}" data-count="${b.count}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(TOP + PLOT_H - y).toFixed(1)}" fill="${COLORS[0]}">` +
        `<title>${escape(`${range(b)}${spec.xUnit}: ${b.count} ${spec.yUnit}`)}</title></rect>`,
    );
  }
  // About ten labels: bar values for whole numbers, round edges otherwise.
  const every = Math.max(1, Math.ceil(bins.length / 10));
  if (spec.integer && width === 1) {
    for (let x = x0, i = 0; x < x1; x++, i++) if (i % every === 0) xTick(f, x + 0.5, fmt(x));
  } else {
    const step = niceStep((x1 - x0) / 10);
    for (let x = Math.ceil(x0 / step) * step; x <= x1 + 1e-9; x += step) xTick(f, x, `${fmt(x)}${spec.xUnit}`);
  }
  vLines(f, spec.vLines ?? []);
  f.parts.push('</svg>');
  return figure(spec.id, f.parts.join(''), spec.caption);
}
