import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { registerTeardown, spawnProcess } from '@realtime/testing';

const RUN_BENCH = fileURLToPath(new URL('../dist/run-bench.js', import.meta.url));

/**
 * The benchmark end to end, smallest form: its own Redis, both
 * implementations, a table with ratios and verdicts written to a file.
 * (The figures themselves are for `npm run bench`, never asserted here.)
 */
it('runs both implementations side by side and writes a results table with ratios and verdicts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  registerTeardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'RESULTS.md');
  const { child, exited } = spawnProcess(process.execPath, [RUN_BENCH, '--quick', '--reps', '1', '--only', 'connect,memory', '--out', out]);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const code = await exited;
  expect(code, stderr).toBe(0);
  // Progress is shown while it runs.
  expect(stderr).toContain('connect ours:');
  expect(stderr).toContain('memory baseline:');
  const table = readFileSync(out, 'utf8');
  expect(table).toContain('cores');
  expect(table).toMatch(
    /\| connect \| connect \+ join per second \| [\d,]+ \/s \| [\d,]+ \/s \| [\d.]+× \| (yes|NO) \(target ≥ 0\.9×\) \|/,
  );
  expect(table).toMatch(
    /\| memory \| heap per idle connection \(1 channel \+ 1 room\) \| [\d.]+ KiB \| [\d.]+ KiB \| [\d.]+× \| (yes|NO) \(target ≤ 1\.2×\) \|/,
  );
}, 120_000);
