import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNOWN_SETTINGS, SETTING_PREFIXES, findUnknownSettings } from '../src/known-settings.js';

describe('known settings', () => {
  it('are exactly the variables config.ts reads, and each is under one of our prefixes or PORT/HOST/NODE_ENV', () => {
    const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
    const read = new Set<string>();
    for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)|\(env, '([A-Z][A-Z0-9_]*)'/g)) read.add((m[1] ?? m[2]) as string);
    expect([...read].sort()).toEqual([...KNOWN_SETTINGS].sort());
    for (const name of KNOWN_SETTINGS) {
      if (name === 'PORT' || name === 'HOST' || name === 'NODE_ENV') continue;
      expect(
        SETTING_PREFIXES.some((p) => name.startsWith(p)),
        name,
      ).toBe(true);
    }
  });

  it('a typo under our prefixes is reported with the closest setting', () => {
    expect(findUnknownSettings({ REDIS_ULR: 'redis://x', LOG_LEVLE: 'debug', PING_INTERVAL: '5' })).toEqual([
      { name: 'LOG_LEVLE', suggestion: 'LOG_LEVEL' },
      { name: 'PING_INTERVAL', suggestion: 'PING_INTERVAL_MS' },
      { name: 'REDIS_ULR', suggestion: 'REDIS_URL' },
    ]);
  });

  it('a name far from every setting is reported without a guess', () => {
    expect(findUnknownSettings({ REDIS_SOMETHING_ELSE_ENTIRELY: '1' })).toEqual([
      { name: 'REDIS_SOMETHING_ELSE_ENTIRELY', suggestion: undefined },
    ]);
  });

  it('leaves alone known settings, other programs’ variables and Kubernetes service links', () => {
    expect(
      findUnknownSettings({
        REDIS_URL: 'redis://x',
        NODE_ENV: 'production',
        NODE_OPTIONS: '--max-old-space-size=512',
        NODE_EXTRA_CA_CERTS: '/ca.pem',
        HTTP_PROXY: 'http://proxy:3128',
        HTTPS_PROXY: 'http://proxy:3128',
        PATH: '/usr/bin',
        // A Service named "redis" in the namespace.
        REDIS_SERVICE_HOST: '10.0.0.7',
        REDIS_SERVICE_PORT: '6379',
        REDIS_SERVICE_PORT_REDIS: '6379',
        REDIS_PORT: 'tcp://10.0.0.7:6379',
        REDIS_PORT_6379_TCP: 'tcp://10.0.0.7:6379',
        REDIS_PORT_6379_TCP_ADDR: '10.0.0.7',
        REDIS_PORT_6379_TCP_PORT: '6379',
        REDIS_PORT_6379_TCP_PROTO: 'tcp',
      }),
    ).toEqual([]);
  });
});
