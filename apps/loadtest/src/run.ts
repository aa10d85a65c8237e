import { nowMs } from './clock.js';
import { resolveOptions, type LoadTestOptions } from './options.js';
import { orchestrate } from './orchestrator.js';
import { checkTargets } from './preflight.js';
import { Progress } from './progress.js';
import { buildReport, type LoadTestReport } from './report.js';
import { writeHtmlReport } from './report-html.js';
import { writeJsonReport } from './report-json.js';
import { TimelineMerger } from './timeline.js';

/**
 * Runs one load test and resolves with its report (also written to
 * `options.json` / `options.html` when given). Rejects with
 * LoadTestOptionsError for bad options, TargetUnreachableError when a target
 * refuses connections, LoadTestRunError when a generator fails or the run
 * overruns its bound. A completed run resolves even when checks failed:
 * read `report.passed` and `report.failedChecks`.
 */
export async function runLoadTest(input: LoadTestOptions): Promise<LoadTestReport> {
  const options = resolveOptions(input);
  await checkTargets(options);
  const startedAt = Date.now();
  const runStart = nowMs();
  const timeline = new TimelineMerger(options.workers);
  const progress = new Progress({ workers: options.workers, quiet: options.quiet, onProgress: input.onProgress }, timeline);
  let results;
  try {
    results = await orchestrate(
      options,
      runStart,
      {
        onTick: (tick) => {
          timeline.addBuckets(tick.buckets);
          timeline.addSample(tick.worker, tick.second, tick.connected, tick.cpuPercent);
          progress.onTick(tick);
        },
        onResult: (result) => {
          timeline.addBuckets(result.timeline);
          progress.workerFinished(result.worker);
        },
        onPhase: input.onPhase,
      },
      input.signal,
    );
  } finally {
    progress.stop();
  }
  const report = buildReport({ options, results, startedAt, endedAt: Date.now(), runStart, timeline: timeline.points() });
  if (options.json !== null) await writeJsonReport(options.json, report);
  if (options.html !== null) await writeHtmlReport(options.html, report);
  return report;
}
