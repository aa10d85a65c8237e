import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const auditScript = resolve(dirname(fileURLToPath(import.meta.url)), '../../.ci/audit.mjs');
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs .ci/audit.mjs with an `npm` on PATH that prints `report` and exits as npm audit would. */
function auditWith(report: unknown, npmExit: number): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ci-audit-'));
  made.push(dir);
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
  writeFileSync(join(dir, 'npm'), `#!/bin/sh\n[ "$1" = audit ] || exit 99\ncat "${join(dir, 'report.json')}"\nexit ${npmExit}\n`);
  chmodSync(join(dir, 'npm'), 0o755);
  const run = spawnSync(process.execPath, [auditScript], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` } });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('.ci/audit.mjs', () => {
  it('fails CI on a high advisory in a production dependency, naming it', () => {
    const result = auditWith(
      {
        vulnerabilities: { ws: { severity: 'high', range: '8.0.0 - 8.17.0' }, debug: { severity: 'low', range: '<2.6.9' } },
        metadata: { vulnerabilities: { info: 0, low: 1, moderate: 0, high: 1, critical: 0, total: 2 } },
      },
      1,
    );
    expect(result.status).toBe(1);
    expect(result.output).toContain('ws (high, 8.0.0 - 8.17.0)');
    expect(result.output).not.toContain('debug');
  });

  it('passes when only low and moderate advisories are found', () => {
    const result = auditWith({ vulnerabilities: {}, metadata: { vulnerabilities: { info: 0, low: 2, moderate: 1, high: 0, critical: 0, total: 3 } } }, 1);
    expect(result.status).toBe(0);
    expect(result.output).toContain('no high or critical advisories');
  });

  it('says it skipped, and passes, when the advisory endpoint cannot be asked', () => {
    const result = auditWith({ message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk', statusCode: 405 }, 1);
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/could not ask the advisory endpoint \(405 Method Not Allowed.*skipped/);
  });
});
