/**
 * @realtime/loadtest: the load tester as a library. `runLoadTest` takes the
 * CLI's options (typed) and resolves with the full report, so a benchmark can
 * drive scenarios and read figures.
 */
export { runLoadTest } from './run.js';
export {
  resolveOptions,
  LoadTestOptionsError,
  OPTION_SPECS,
  SCENARIOS,
  TRANSPORT_MODES,
  PLACEMENTS,
  type HookedPhase,
  type LoadTestOptions,
  type Placement,
  type ResolvedOptions,
  type ScenarioName,
  type TransportMode,
} from './options.js';
export { parseCliArgs, helpText, CliUsageError, type CliArgs } from './cli-args.js';
export { TargetUnreachableError } from './preflight.js';
export { LoadTestRunError } from './orchestrator.js';
export type { LoadTestReport, RateStats, TargetReport, ReportOptions } from './report.js';
export type { LatencyPercentiles } from './latency-recorder.js';
export type { FailureSummary } from './failures.js';
export type { GeneratorCpu } from './cpu-monitor.js';
export type { PerMemberEvents, PresenceReport } from './scenarios/storm-report.js';
export type { CountOverTime, CountPoint } from './scenarios/storm-counts.js';
export type { Bin, Spread } from './distribution.js';
export type { ChurnWorkerStats } from './scenarios/churn.js';
export type { TimelinePoint } from './timeline.js';
export type { ProgressSnapshot } from './progress.js';
export { formatSummary } from './summary.js';
export { renderHtmlReport, writeHtmlReport } from './report-html.js';
export { writeJsonReport } from './report-json.js';
export { SequenceTracker, type RecordOutcome, type SeqRange } from './sequence-tracker.js';
export { parseDuration, formatDuration } from './duration.js';
