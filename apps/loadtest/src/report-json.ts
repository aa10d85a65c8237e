import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { LoadTestReport } from './report.js';

/** Writes the full report as indented JSON; returns the absolute path. */
export async function writeJsonReport(file: string, report: LoadTestReport): Promise<string> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
