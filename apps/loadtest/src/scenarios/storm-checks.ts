import type { PresenceReport } from './storm-report.js';

/** One check of a storm, in words whether it held or not. */
export interface StormCheck {
  passed: boolean;
  text: string;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** `"95 at 100, 5 at 99"`: members by the last count they were told, most common first. */
export function finalCountsText(finalCounts: Record<string, number>): string {
  return Object.entries(finalCounts)
    .sort((a, b) => b[1] - a[1])
    .map(([count, members]) => `${n(members)} at ${count === 'none' ? 'no count' : count}`)
    .join(', ');
}

/**
 * The presence checks of the CI gate. The report's `failedChecks` takes the
 * failing ones' texts, and the HTML report lists them all, so the gate and
 * the page never disagree. (Connections and joins are checked for every
 * scenario, in report.ts.)
 */
export function stormChecks(p: PresenceReport): StormCheck[] {
  const after = p.timeToSettleMs === null ? '' : `, ${n(p.timeToSettleMs)} ms after the storm started`;
  return [
    p.settled
      ? { passed: true, text: `every member's count settled at ${n(p.expected)}${after}` }
      : {
          passed: false,
          text: `presence did not settle: ${n(p.settledMembers)} of ${n(p.members)} members ended at ${n(p.expected)} (${finalCountsText(p.finalCounts)})`,
        },
    p.decreases === 0
      ? { passed: true, text: "no member's count ever went down" }
      : { passed: false, text: `${n(p.membersWithDecrease)} members saw their count go down (${n(p.decreases)} times)` },
  ];
}
