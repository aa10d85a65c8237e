import { escape } from './html-escape.js';
import type { LoadTestReport } from './report.js';
import { stormChecks } from './scenarios/storm-checks.js';

const n = (x: number): string => x.toLocaleString('en-US');

/**
 * The checks that held, in words. What failed comes verbatim from
 * `failedChecks` (the CI gate's own list), so the page can never call a run
 * good that the gate failed; this only says what was checked and held.
 */
function heldChecks(report: LoadTestReport): string[] {
  const held: string[] = [];
  const { connect, joins } = report;
  if (connect.failed === 0 && connect.attempts > 0) held.push(`all ${n(connect.attempts)} connections opened`);
  const p = report.presence;
  if (joins.failed === 0 && joins.attempts > 0) {
    const last = p?.timeToAckAllMs == null ? '' : `, the last ${n(p.timeToAckAllMs)} ms after the storm started`;
    held.push(`all ${n(joins.attempts)} joins acknowledged${last}`);
  }
  if (p !== null) for (const check of stormChecks(p)) if (check.passed) held.push(check.text);
  if (['fanout', 'rooms', 'churn'].includes(report.scenario) && report.deliveries.expected > 0) {
    if (report.lost === 0)
      held.push(`nothing lost: ${n(report.deliveries.received)} of ${n(report.deliveries.expected)} expected deliveries received`);
    if (report.duplicated === 0) held.push('no delivery duplicated');
    if (report.messages.refused === 0 && report.messages.ackTimeouts === 0) held.push('every message accepted and acknowledged');
  }
  return held;
}

/** PASS or FAIL, then the failed checks and the checks that held, one sentence each. */
export function verdictSection(report: LoadTestReport): string {
  const list = (items: readonly string[], cls: string, mark: string): string =>
    `<ul class="checks ${cls}">${items.map((c) => `<li><span aria-hidden="true">${mark}</span> ${escape(c)}</li>`).join('')}</ul>`;
  const held = heldChecks(report);
  const parts = ['<section id="verdict">'];
  if (report.passed) {
    parts.push(
      '<p class="pass">PASS</p>',
      held.length > 0 ? `<p>Every check held:</p>${list(held, 'held', '✓')}` : '<p>No check failed.</p>',
    );
  } else {
    const failed = report.failedChecks;
    parts.push('<p class="fail">FAIL</p>', `<p>${failed.length === 1 ? 'This check' : `These ${failed.length} checks`} failed:</p>`);
    parts.push(list(failed, 'failed', '✗'));
    if (held.length > 0) parts.push('<p>These held:</p>', list(held, 'held', '✓'));
  }
  parts.push('</section>');
  return parts.join('\n');
}
