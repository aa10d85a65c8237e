import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { registerTeardown, spawnProcess } from '@realtime/testing';

const RUN_BENCH = fileURLToPath(new URL('../dist/run-bench.js', import.meta.url));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  registerTeardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, exited } = spawnProcess(process.execPath, [RUN_BENCH, ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await exited;
  return { code, stdout, stderr };
}

/**
 * The benchmark end to end, smallest form: its own Redis, both
 * implementations, a table with ratios and verdicts written to a file.
 * (The figures themselves are for `npm run bench`, never asserted here.)
 */
it('runs both implementations side by side and writes a results table with ratios and verdicts', async () => {
  const out = join(tempDir(), 'RESULTS.md');
  const { code, stderr } = await runBench(['--quick', '--reps', '1', '--only', 'connect,memory', '--out', out]);
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

/**
 * --redis cluster, smallest form: a real 3 + 3 Redis Cluster next to the
 * standalone Redis, the rooms knee of ours on both with room-local
 * placement, and both columns printed and written next to the ours/baseline
 * table already in the file. The inbound counts are not performance but
 * what sharded subscriptions are for, so they are asserted: on standalone
 * (classic adapter) every node receives every room's messages, half of them
 * the other node's; on the cluster a node receives its own rooms' only.
 */
it('--redis cluster: rooms on a Redis Cluster and on standalone in one run, both printed, per-node inbound and CPU', async () => {
  const out = join(tempDir(), 'RESULTS.md');
  writeFileSync(
    out,
    '# Benchmark results\n\n| section | figure | ours | baseline | ours/baseline | target met |\n| earlier | row | 1 | 1 | 1.00× |  |\n',
  );
  const { code, stdout, stderr } = await runBench(['--redis', 'cluster', '--quick', '--reps', '1', '--only', 'rooms', '--out', out]);
  expect(code, stderr).toBe(0);
  expect(stderr).toContain('starting a Redis Cluster (3 masters + 3 replicas)');
  expect(stderr).toMatch(/rooms ours@standalone 500 msg\/s: \d+ deliveries\/s, p99 [\d.]+ ms, lost 0, server CPU [\d.]+ µs\/delivery/);
  expect(stderr).toMatch(/rooms ours@cluster 500 msg\/s: \d+ deliveries\/s, p99 [\d.]+ ms, lost 0, server CPU [\d.]+ µs\/delivery/);
  const file = readFileSync(out, 'utf8');
  for (const text of [stdout, file]) {
    expect(text).toContain(
      '| section | figure | standalone [ADAPTER_MODE=classic] | cluster [ADAPTER_MODE=sharded] | cluster/standalone |',
    );
    // A busy machine may miss p99 ≤ 100 ms even at the lowest step (a knee of 0, ratio n/a): the shape only.
    expect(text).toMatch(
      /\| rooms \| deliveries\/s at p99 ≤ 100 ms \(100 rooms × 10, room-local[^|]*\) \| [\d,]+ \/s \| [\d,]+ \/s \| ([\d.]+×|n\/a) \|/,
    );
    expect(text).toMatch(/\| rooms \| server CPU per delivery [^|]* \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+× \|/);
    expect(text).toMatch(/\| rooms \| Redis CPU per message published [^|]* \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+× \|/);
    for (const node of [1, 2]) {
      expect(text).toMatch(
        new RegExp(`\\| rooms \\| inbound broadcasts per message published, node ${node} \\| (0\\.9\\d|1\\.\\d\\d) \\| 0\\.[45]\\d \\|`),
      );
      expect(text).toMatch(new RegExp(`\\| rooms \\| … of them other nodes' publications, node ${node} \\| 0\\.[45]\\d \\| 0\\.0\\d \\|`));
    }
  }
  expect(stdout).toContain('the baseline is standalone-only');
  expect(file).toContain('The baseline (plain socket.io + @socket.io/redis-adapter) runs on standalone Redis only');
  // The ours/baseline table already in the file stays: each comparison rewrites its own part.
  expect(file).toContain('| earlier | row | 1 | 1 | 1.00× |  |');
  expect(file.indexOf('| earlier |')).toBeLessThan(file.indexOf('## Redis standalone vs Redis Cluster'));
}, 90_000);

/**
 * --redis recovery, smallest form: ours with the recovery history on and
 * off, on one redis-server, rooms only. Asserted beside the shape: with the
 * history on, a node receives only its own rooms' events (each node's rooms
 * are room-local), where the classic adapter brings it the other node's too.
 */
it('--redis recovery: rooms with RECOVERY_WINDOW_MS on and off in one run, the CPU target judged, per-node inbound', async () => {
  const out = join(tempDir(), 'RESULTS.md');
  const { code, stdout, stderr } = await runBench(['--redis', 'recovery', '--quick', '--reps', '1', '--only', 'rooms', '--out', out]);
  expect(code, stderr).toBe(0);
  expect(stderr).toMatch(/rooms ours@recovery-off 500 msg\/s: \d+ deliveries\/s, p99 [\d.]+ ms, lost 0/);
  expect(stderr).toMatch(/rooms ours@recovery-on 500 msg\/s: \d+ deliveries\/s, p99 [\d.]+ ms, lost 0/);
  const file = readFileSync(out, 'utf8');
  for (const text of [stdout, file]) {
    expect(text).toContain('| section | figure | RECOVERY_WINDOW_MS=0 | RECOVERY_WINDOW_MS=120000 | on/off | target met |');
    expect(text).toMatch(
      /\| rooms \| server CPU per delivery [^|]* \| [\d.]+ µs \| [\d.]+ µs \| [\d.]+× \| (yes|NO) \(target ≤ 1\.1×\) \|/,
    );
    for (const node of [1, 2]) {
      expect(text).toMatch(new RegExp(`\\| rooms \\| … of them other nodes' publications, node ${node} \\| 0\\.[45]\\d \\| 0\\.0\\d \\|`));
    }
  }
  expect(file).toContain('## Recovery history on vs off (ours only)');
}, 90_000);

it('--help documents --redis; a bad --redis or --only exits 2 saying what to pass', async () => {
  const help = await runBench(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--redis +which comparison to run \(default standalone\)/);
  expect(help.stdout).toContain('standalone,cluster');
  const badRedis = await runBench(['--redis', 'sentinel']);
  expect(badRedis.code).toBe(2);
  expect(badRedis.stderr).toContain('--redis must be standalone, cluster or recovery (or several, comma-separated), got "sentinel"');
  const neither = await runBench(['--redis', 'cluster', '--only', 'memory']);
  expect(neither.code).toBe(2);
  expect(neither.stderr).toContain('--redis cluster runs the fanout and rooms sections; --only names neither');
  const unknown = await runBench(['--only', 'room']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('--only: unknown section room');
});
