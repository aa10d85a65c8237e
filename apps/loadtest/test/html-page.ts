import { expect } from 'vitest';

/** Reading a rendered report the way its reader sees it: by figure, table and section. */

/** The element `<tag id="id">…</tag>` (not nested in its own kind), or undefined. */
export function element(page: string, tag: 'figure' | 'section' | 'table', id: string): string | undefined {
  return new RegExp(`<${tag} id="${id}"[^>]*>[\\s\\S]*?</${tag}>`).exec(page)?.[0];
}

/** A figure that is a "no data" note: the note's text, and no chart. */
export function expectNoData(page: string, id: string, why: string): void {
  const f = element(page, 'figure', id);
  expect(f, `figure ${id}`).toBeDefined();
  expect(f).not.toContain('<svg');
  expect(f).toContain(`no data: ${why}`);
}

/** The bars of a histogram figure. */
export function bars(figure: string): { from: number; to: number; count: number }[] {
  return [...figure.matchAll(/<rect class="bar" data-from="([-\d.e]+)" data-to="([-\d.e]+)" data-count="(\d+)"/g)].map((m) => ({
    from: Number(m[1]),
    to: Number(m[2]),
    count: Number(m[3]),
  }));
}

/** The (x, y) points of a line series, in SVG coordinates (y grows downwards). */
export function seriesPoints(figure: string, name: string): [number, number][] {
  const d = new RegExp(`<path data-series="${name}" d="([^"]+)"`).exec(figure)?.[1];
  if (d === undefined) return [];
  const points: [number, number][] = [];
  let x = 0;
  let y = 0;
  for (const [, op, a, b] of d.matchAll(/([MLHV])([-\d.]+)(?: ([-\d.]+))?/g)) {
    if (op === 'H') x = Number(a);
    else if (op === 'V') y = Number(a);
    else [x, y] = [Number(a), Number(b)];
    points.push([x, y]);
  }
  return points;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** What a reader sees of `html`: the text, tags dropped, entities decoded, spaces collapsed. */
export function textOf(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e)
    .replace(/\s+/g, ' ');
}

/** `<td data-stat="…">` cells of a table (or of one row of it), by stat. */
export function cells(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<td data-stat="(\w+)">([^<]*)<\/td>/g)].map((m) => [m[1], m[2]]));
}
