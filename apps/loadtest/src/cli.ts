#!/usr/bin/env node
import { CliUsageError, helpText, parseCliArgs } from './cli-args.js';
import { LoadTestOptionsError } from './options.js';
import { LoadTestRunError } from './orchestrator.js';
import { TargetUnreachableError } from './preflight.js';
import type { LoadTestReport } from './report.js';
import { runLoadTest } from './run.js';
import { formatSummary } from './summary.js';

/** Exit statuses: the CI gate reads them. */
export const EXIT = { passed: 0, checksFailed: 1, usage: 2, runFailed: 3 } as const;

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`realtime-loadtest: ${err.message}\n`);
    return EXIT.usage;
  }
  if (args.help) {
    process.stdout.write(helpText());
    return EXIT.passed;
  }
  let report: LoadTestReport;
  try {
    report = await runLoadTest(args.options);
  } catch (err) {
    if (err instanceof LoadTestOptionsError) {
      process.stderr.write(`realtime-loadtest: ${err.message}. Run with --help to see every option.\n`);
      return EXIT.usage;
    }
    if (err instanceof TargetUnreachableError || err instanceof LoadTestRunError) {
      process.stderr.write(`realtime-loadtest: ${err.message}\n`);
      return EXIT.runFailed;
    }
    process.stderr.write(`realtime-loadtest: the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.runFailed;
  }
  process.stdout.write(formatSummary(report));
  if (report.options && args.options.json !== undefined) process.stdout.write(`  json        ${args.options.json}\n`);
  if (args.options.html !== undefined) process.stdout.write(`  html        ${args.options.html}\n`);
  return report.passed ? EXIT.passed : EXIT.checksFailed;
}

// No process.exit(): every socket and timer is released, so the process ends by itself once output is flushed.
process.exitCode = await main(process.argv.slice(2));
