import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  launchChromium,
  registerTeardown,
  startCluster,
  startServerProcess,
  startTestRedis,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { loadConfig } from '../src/config.js';

/**
 * The demo page at /demo in a real browser (Debian's Chromium, driven by
 * playwright-core): two pages on two nodes chat, join a room, see each
 * other's joins and the live counts. A screenshot is saved for people to look at.
 */
const SCREENSHOT = fileURLToPath(new URL('../../../.tmp/demo-page.png', import.meta.url));
let browser: Browser;
let nodes: ServerProcess[];

beforeAll(async () => {
  browser = await launchChromium();
  const redis = await startTestRedis();
  registerTeardown(() => redis.stop());
  nodes = await startCluster(2, { redisUrl: redis.url, keyPrefix: uniqueKeyPrefix('demo'), env: { DEMO_PAGE: 'true' } });
});

async function open(node: ServerProcess, name: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  registerTeardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${node.url}/demo?name=${name}`);
  await until(page, 'status', 'connected as', true);
  expect(errors).toEqual([]);
  return page;
}

const text = (page: Page, selector: string): Promise<string> => page.locator(selector).innerText();

/** Waits until element `id`'s text equals `value` (or, with `includes`, contains it), as the page shows it. */
async function until(page: Page, id: string, value: string, includes = false): Promise<void> {
  await page.waitForFunction(
    ([elementId, expected, partial]) => {
      const doc = (globalThis as unknown as { document: { getElementById(i: string): { textContent: string | null } | null } }).document;
      const shown = doc.getElementById(elementId)?.textContent ?? '';
      return partial ? shown.includes(expected) : shown === expected;
    },
    [id, value, includes] as const,
  );
}

describe('the demo page', () => {
  it('two pages on two nodes chat in a channel and a room, with live counts and join events', async () => {
    const alice = await open(nodes[0]!, 'alice');
    const bob = await open(nodes[1]!, 'bob');
    await alice.click('#join-channel button');
    await until(alice, 'channel-count', '1');
    await bob.click('#join-channel button');
    for (const page of [alice, bob]) await until(page, 'channel-count', '2');
    await until(alice, 'channel-log', 'bob joined', true);

    await alice.fill('#message', 'hello from alice <b>not bold</b>');
    await alice.click('#send-channel button');
    await until(bob, 'channel-log', 'hello from alice', true);
    // Shown as text, never as markup.
    expect(await bob.locator('#channel-log b', { hasText: 'not bold' }).count()).toBe(0);
    expect(await text(bob, '#channel-log li:first-child')).toBe('alicehello from alice <b>not bold</b>');

    await alice.click('#join-room button');
    await bob.click('#join-room button');
    for (const page of [alice, bob]) await until(page, 'room-count', '2');
    await bob.fill('#room-message', 'room hello from bob');
    await bob.click('#send-room button');
    await until(alice, 'room-log', 'room hello from bob', true);
    expect(await text(alice, '#channel-log')).not.toContain('room hello from bob');

    mkdirSync(fileURLToPath(new URL('.', `file://${SCREENSHOT}`)), { recursive: true });
    await alice.screenshot({ path: SCREENSHOT, fullPage: true });
    process.stdout.write(`demo page screenshot: ${SCREENSHOT}\n`);
    await bob.close();
    await until(alice, 'channel-count', '1');
  });

  it('is off by default in production and with Redis, on for a single node without Redis; DEMO_PAGE decides', async () => {
    expect(loadConfig({}).demoPage).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).demoPage).toBe(false);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).demoPage).toBe(false);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', DEMO_PAGE: 'true' }).demoPage).toBe(true);
    const production = await startServerProcess({ nodeId: 'demo-off', env: { NODE_ENV: 'production' } });
    expect((await fetch(`${production.url}/demo`)).status).toBe(404);
    const single = await startServerProcess({ nodeId: 'demo-on' });
    const page = await fetch(`${single.url}/demo`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/demo/realtime-client.js');
    expect((await fetch(`${single.url}/demo/realtime-client.js`)).headers.get('content-type')).toContain('text/javascript');
  });
});
