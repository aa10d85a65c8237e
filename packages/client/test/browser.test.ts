import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  launchChromium,
  registerTeardown,
  startCluster,
  startServerProcess,
  startTestRedis,
  uniqueKeyPrefix,
  type ServerProcess,
} from '@realtime/testing';
import { browserBundlePath } from '@realtime/client/node';
import { browserBundleIsStale, buildBrowserBundle } from '../dist/node/build-browser-bundle.js';
import type * as Sdk from '../src/index.js';
import { recordTopic, sdkClient } from './support/sdk-clients.js';

/**
 * The browser bundle in a real browser (Debian's Chromium, driven by
 * playwright-core): a page on one origin imports the ESM bundle from where a
 * node would serve it (`browserBundlePath()`) and talks, through the SDK, to
 * nodes on another origin, beside a Node.js SDK client on another node.
 */

/** What the page's module puts on `window`: the SDK, and what its clients saw. */
interface PageGlobals {
  realtime: typeof Sdk;
  rt: Sdk.RealtimeClient;
  channel: Sdk.Channel;
  room: Sdk.Room;
  seen: { channel: string[]; room: string[]; counts: number[]; rejoins: Sdk.RejoinReport[] };
}

let browser: Browser;
let pageOrigin: string;
let redisUrl: string;
let keyPrefix: string;
let nodes: ServerProcess[];

/** Serves the page and the bundle, read from disk on every request, on an origin of its own. */
async function startPageServer(): Promise<string> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/realtime-client.js' || req.url === '/realtime-client.js.map') {
      const file = req.url.endsWith('.map') ? `${browserBundlePath()}.map` : browserBundlePath();
      res.writeHead(200, { 'Content-Type': req.url.endsWith('.map') ? 'application/json' : 'text/javascript' }).end(readFileSync(file));
      return;
    }
    res
      .writeHead(200, { 'Content-Type': 'text/html' })
      .end(
        '<!doctype html><title>sdk</title><script type="module">' +
          "import * as realtime from '/realtime-client.js'; window.realtime = realtime;" +
          '</script>',
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registerTeardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('page server has no port');
  return `http://127.0.0.1:${address.port}`;
}

beforeAll(async () => {
  if (browserBundleIsStale()) await buildBrowserBundle();
  browser = await launchChromium();
  pageOrigin = await startPageServer();
  const redis = await startTestRedis();
  registerTeardown(() => redis.stop());
  redisUrl = redis.url;
  keyPrefix = uniqueKeyPrefix('sdk-browser');
  // Another origin than the page's: another port.
  nodes = await startCluster(2, { redisUrl, keyPrefix, namePrefix: 'browser-node', env: { CORS_ORIGINS: pageOrigin } });
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  registerTeardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(pageOrigin);
  await page.waitForFunction(() => 'realtime' in globalThis);
  expect(errors).toEqual([]);
  return page;
}

describe('the browser bundle in Chromium', () => {
  it('is one ESM file with socket.io-client inside and no Node built-ins', () => {
    const bundle = readFileSync(browserBundlePath(), 'utf8');
    expect(bundle).toMatch(/export\s*\{/);
    expect(bundle).not.toMatch(/\brequire\(|from\s*"node:|import\(\s*"node:|process\.env/);
    // socket.io-client's own code is inside, not imported.
    expect(bundle).not.toMatch(/from\s*"socket\.io-client"/);
    expect(bundle).toContain('io server disconnect');
  });

  it.each([['websocket'], ['polling']] as const)(
    'a page joins, sends, receives and gets typed errors over %s, across origins and nodes',
    async (transport) => {
      const page = await openPage();
      const joined = await page.evaluate(
        async ({ url, transport }) => {
          const g = globalThis as unknown as PageGlobals;
          g.seen = { channel: [], room: [], counts: [], rejoins: [] };
          g.rt = g.realtime.createRealtimeClient(url, { transports: [transport], source: { platform: 'web', userName: 'Chromium' } });
          g.channel = await g.rt.joinChannel(`browser-${transport}`);
          g.channel.on('message', (e) => g.seen.channel.push(`${e.source.userName}: ${e.data.message}`));
          g.channel.on('online-users', (n) => g.seen.counts.push(n));
          g.room = await g.channel.joinRoom('r1');
          g.room.on('message', (e) => g.seen.room.push(e.data.message));
          return { id: g.rt.id, onlineUsers: g.channel.onlineUsers, room: g.room.onlineUsers };
        },
        { url: nodes[0]!.url, transport },
      );
      expect(joined).toMatchObject({ id: expect.any(String), onlineUsers: 1, room: 1 });

      // A Node.js SDK client on the other node.
      const node = sdkClient(nodes[1]!.url, { source: { userName: 'Node' } });
      const ch = await node.joinChannel(`browser-${transport}`);
      expect(ch.onlineUsers).toBe(2);
      const fromPage = recordTopic(ch, 'message');
      await page.evaluate(() => (globalThis as unknown as PageGlobals).channel.send('hello from Chromium'));
      await vi.waitFor(() => expect(fromPage.map((e) => [e.clientId, e.data.message])).toEqual([[joined.id, 'hello from Chromium']]));
      await ch.send('hello from Node');
      const room = await node.joinRoom(`browser-${transport}`, 'r1');
      await room.notify('to the room');
      await vi.waitFor(async () =>
        expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).seen)).toMatchObject({
          channel: ['Chromium: hello from Chromium', 'Node: hello from Node'],
          room: ['to the room'],
        }),
      );
      await vi.waitFor(async () => expect((await page.evaluate(() => (globalThis as unknown as PageGlobals).seen.counts)).at(-1)).toBe(2));

      // Errors are RealtimeErrors with registry codes, in the browser too.
      const errors = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const caught = async (p: Promise<unknown>) => {
          try {
            await p;
            return undefined;
          } catch (err) {
            return {
              isRealtimeError: err instanceof g.realtime.RealtimeError,
              code: (err as Sdk.RealtimeError).code,
              retryable: (err as Sdk.RealtimeError).retryable,
            };
          }
        };
        const tooLarge = await caught(g.channel.send('€'.repeat(21_846)));
        const reserved = await caught(g.rt.joinChannel('online-users'));
        const left = await g.room.leave();
        const afterLeave = await caught(g.room.notify('too late'));
        return { tooLarge, reserved, left, afterLeave };
      });
      expect(errors).toEqual({
        tooLarge: { isRealtimeError: true, code: 'PAYLOAD_TOO_LARGE', retryable: false },
        reserved: { isRealtimeError: true, code: 'INVALID_PAYLOAD', retryable: false },
        left: 1,
        afterLeave: { isRealtimeError: true, code: 'NOT_A_MEMBER', retryable: false },
      });
      await page.evaluate(() => (globalThis as unknown as PageGlobals).rt.close());
      await vi.waitFor(() => expect(ch.onlineUsers).toBe(1));
    },
  );

  it('after its node is killed and restarted in place (same NODE_ID), the page is recovered there: same id, channel and room kept, no flap', async () => {
    const restarting = await startServerProcess({ nodeId: 'browser-restarting', redisUrl, keyPrefix, env: { CORS_ORIGINS: pageOrigin } });
    const page = await openPage();
    await page.evaluate(async (url) => {
      const g = globalThis as unknown as PageGlobals;
      g.seen = { channel: [], room: [], counts: [], rejoins: [] };
      g.rt = g.realtime.createRealtimeClient(url, { reconnectionDelayMs: 100, reconnectionDelayMaxMs: 500 });
      g.rt.on('rejoin', (report) => g.seen.rejoins.push(report));
      g.channel = await g.rt.joinChannel('browser-restart');
      g.channel.on('message', (e) => g.seen.channel.push(e.data.message));
      g.room = await g.rt.joinRoom('browser-restart', 'r');
    }, restarting.url);
    const node = sdkClient(nodes[1]!.url);
    const ch = await node.joinChannel('browser-restart');
    const room = await node.joinRoom('browser-restart', 'r');
    expect([ch.onlineUsers, room.onlineUsers]).toEqual([2, 2]);
    const leaves = recordTopic(ch, 'leave');
    const joins = recordTopic(ch, 'join');
    const oldId = await page.evaluate(() => (globalThis as unknown as PageGlobals).rt.id);

    await restarting.stop(); // SIGKILL
    await startServerProcess({
      nodeId: 'browser-restarting',
      redisUrl,
      keyPrefix,
      env: { CORS_ORIGINS: pageOrigin, PORT: String(restarting.port) },
    });
    await vi.waitFor(async () => expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).seen.rejoins)).toHaveLength(1), {
      timeout: 15_000,
    });
    const [report] = await page.evaluate(() => (globalThis as unknown as PageGlobals).seen.rejoins);
    expect(report?.lost).toEqual([]);
    expect(report?.rejoined.map((m) => [m.channel, m.roomId, m.state])).toEqual([
      ['browser-restart', null, 'joined'],
      ['browser-restart', 'r', 'joined'],
    ]);
    // Recovered from the killed process's run journal by its successor under the same node id.
    expect(report?.recovered).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).rt.id)).toBe(oldId);
    expect((await sdkClient(nodes[0]!.url).joinChannel('browser-restart')).onlineUsers).toBe(3);
    await ch.send('after the restart');
    await vi.waitFor(async () =>
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).seen.channel)).toEqual(['after the restart']),
    );
    // The other node never saw it leave or join again (its membership was kept, PRESENCE_GRACE_MS, and taken back).
    expect(leaves.map((e) => e.clientId)).not.toContain(oldId);
    expect(joins.map((e) => e.clientId)).not.toContain(oldId);
    await vi.waitFor(() => expect([ch.onlineUsers, room.onlineUsers]).toEqual([3, 2]));
    await vi.waitFor(async () => expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).channel.onlineUsers)).toBe(3));
  });
});
