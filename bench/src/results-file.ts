import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Where the `--redis cluster` part of the results file starts. */
export const CLUSTER_MARKER = '<!-- npm run bench -- --redis cluster -->';
/** Where the `--redis recovery` part starts. */
export const RECOVERY_MARKER = '<!-- npm run bench -- --redis recovery -->';

type Part = 'standalone' | 'cluster' | 'recovery';
const MARKERS: readonly [Exclude<Part, 'standalone'>, string][] = [
  ['cluster', CLUSTER_MARKER],
  ['recovery', RECOVERY_MARKER],
];

/** The parts of an existing results file, by the markers that start them. */
function splitParts(text: string): Partial<Record<Part, string>> {
  const starts = MARKERS.map(([part, marker]) => ({ part, marker, at: text.indexOf(marker) }))
    .filter((m) => m.at >= 0)
    .sort((x, y) => x.at - y.at);
  const parts: Partial<Record<Part, string>> = { standalone: (starts.length === 0 ? text : text.slice(0, starts[0]!.at)).trim() };
  starts.forEach((m, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]!.at : text.length;
    parts[m.part] = text.slice(m.at + m.marker.length, end).trim();
  });
  return parts;
}

/**
 * Writes the results file from the parts this run produced, keeping the
 * other parts from the file as they were: `--redis standalone` (the
 * ours/baseline table), `--redis cluster` (standalone vs cluster) and
 * `--redis recovery` (history on vs off) each rewrite only their own part,
 * so no run wipes out another's figures.
 */
export function writeResults(path: string, parts: Partial<Record<Part, string>>): void {
  const old = splitParts(existsSync(path) ? readFileSync(path, 'utf8') : '');
  const standalone =
    parts.standalone?.trim() || old.standalone || '# Benchmark results\n\nNo ours/baseline run yet: `npm run bench` writes its table here.';
  let text = `${standalone}\n`;
  for (const [part, marker] of MARKERS) {
    const body = parts[part]?.trim() ?? old[part] ?? '';
    if (body !== '') text += `\n${marker}\n\n${body}\n`;
  }
  writeFileSync(path, text);
}
