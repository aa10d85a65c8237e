import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Where the `--redis cluster` part of the results file starts. */
export const CLUSTER_MARKER = '<!-- npm run bench -- --redis cluster -->';

/**
 * Writes the results file from the parts this run produced, keeping the
 * other part from the file as it was: `--redis standalone` (the ours/baseline
 * table) and `--redis cluster` (standalone vs cluster) rewrite only their own
 * part, so neither run wipes out the other's figures.
 */
export function writeResults(path: string, parts: { standalone?: string; cluster?: string }): void {
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const at = existing.indexOf(CLUSTER_MARKER);
  const oldStandalone = (at < 0 ? existing : existing.slice(0, at)).trimEnd();
  const oldCluster = at < 0 ? '' : existing.slice(at + CLUSTER_MARKER.length).trim();
  const standalone =
    parts.standalone?.trimEnd() ||
    oldStandalone ||
    '# Benchmark results\n\nNo ours/baseline run yet: `npm run bench` writes its table here.';
  const cluster = parts.cluster?.trim() ?? oldCluster;
  writeFileSync(path, cluster === '' ? `${standalone}\n` : `${standalone}\n\n${CLUSTER_MARKER}\n\n${cluster}\n`);
}
