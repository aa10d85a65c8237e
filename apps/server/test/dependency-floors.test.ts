import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Issue "trust", section 7: floors of the dependencies whose advisories
 * attack-shapes.test.ts replays. Every copy the lockfile resolves (the
 * server's and socket.io-client's alike) must be at or above its floor, so
 * a lockfile update can never bring a fixed advisory back.
 */
const FLOORS: Record<string, { floor: string; fixes: string }> = {
  'socket.io-parser': { floor: '4.2.6', fixes: 'GHSA-677m-j7p3-52f9 (unbounded binary attachments); CVE-2023-32695 (_placeholder)' },
  'engine.io': { floor: '6.4.2', fixes: 'CVE-2023-31125, CVE-2022-41940 (crafted polling requests)' },
  'socket.io': { floor: '4.6.2', fixes: 'CVE-2024-38355 (a client `error` event)' },
  ws: { floor: '8.17.1', fixes: 'CVE-2024-37890 (an upgrade with more headers than the server allows)' },
};

function atLeast(version: string, floor: string): boolean {
  const [a, b] = [version, floor].map((v) => v.split('-')[0]!.split('.').map(Number));
  for (let i = 0; i < 3; i++) {
    if ((a![i] ?? 0) !== (b![i] ?? 0)) return (a![i] ?? 0) > (b![i] ?? 0);
  }
  return true;
}

describe('dependency floors', () => {
  const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };

  for (const [name, { floor, fixes }] of Object.entries(FLOORS)) {
    it(`every ${name} in the lockfile is ≥ ${floor} (${fixes})`, () => {
      const copies = Object.entries(lock.packages).filter(
        ([path]) => path === `node_modules/${name}` || path.endsWith(`/node_modules/${name}`),
      );
      expect(copies.length).toBeGreaterThan(0);
      for (const [path, entry] of copies) expect(atLeast(entry.version ?? '0.0.0', floor), `${path}@${entry.version}`).toBe(true);
    });
  }

  it('compares versions numerically', () => {
    expect(atLeast('4.2.10', '4.2.6')).toBe(true);
    expect(atLeast('4.2.5', '4.2.6')).toBe(false);
    expect(atLeast('8.17.1', '8.17.1')).toBe(true);
    expect(atLeast('10.0.0', '8.17.1')).toBe(true);
  });
});
