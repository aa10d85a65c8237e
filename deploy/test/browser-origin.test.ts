import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { launchChromium, registerTeardown, startServerProcess } from '@realtime/testing';

/**
 * A real browser (Debian's Chromium, driven by playwright-core) on a page
 * of one origin, connecting with socket.io-client to a node. Refused, it
 * must be able to read why; allowed, it must just work.
 */

const require = createRequire(import.meta.url);
// The package exports no path to its browser bundle: resolve the package, then the file beside it.
const CLIENT_BUNDLE = readFileSync(join(dirname(require.resolve('socket.io-client/package.json')), 'dist/socket.io.min.js'), 'utf8');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});

/** Serves a blank page and the socket.io-client bundle: the page's origin is http://127.0.0.1:<port>. */
async function startPageServer(): Promise<{ origin: string }> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/socket.io.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(CLIENT_BUNDLE);
    } else {
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end('<!doctype html><title>page</title><script src="/socket.io.min.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registerTeardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('page server has no port');
  return { origin: `http://127.0.0.1:${address.port}` };
}

interface PageOutcome {
  connected: boolean;
  error?: { message: string; description: unknown; status: unknown; responseText: unknown };
  ack?: unknown;
}

/** Opens the page and connects from it with long-polling; resolves with what the page saw. */
async function connectFromPage(pageOrigin: string, nodeUrl: string): Promise<PageOutcome> {
  const page = await browser.newPage();
  registerTeardown(() => page.close());
  await page.goto(pageOrigin);
  return page.evaluate(
    (url) =>
      new Promise<PageOutcome>((resolve) => {
        type Ctx = { status?: unknown; responseText?: unknown };
        const io = (globalThis as unknown as { io: (u: string, o: object) => BrowserSocket }).io;
        interface BrowserSocket {
          on(event: string, listener: (arg: { message: string; description?: unknown; context?: Ctx }) => void): void;
          timeout(ms: number): { emitWithAck(event: string, payload: object): Promise<unknown> };
          close(): void;
        }
        const socket = io(url, { transports: ['polling'], reconnection: false });
        socket.on('connect_error', (err) => {
          resolve({
            connected: false,
            error: {
              message: err.message,
              description: err.description,
              status: err.context?.status,
              responseText: err.context?.responseText,
            },
          });
        });
        socket.on('connect', () => {
          void socket
            .timeout(5000)
            .emitWithAck('join-channel', { data: { message: '', roomId: null, roomChannel: 'from-the-browser' } })
            .then((ack) => {
              socket.close();
              resolve({ connected: true, ack });
            });
        });
      }),
    nodeUrl,
  );
}

describe('a browser page and CORS_ORIGINS', () => {
  it('a page on an origin not listed can read why it was refused; the refusal is counted, and logged once per origin', async () => {
    const page = await startPageServer();
    const node = await startServerProcess({ nodeId: 'browser-1', env: { CORS_ORIGINS: 'https://app.example.com' } });
    const first = await connectFromPage(page.origin, node.url);
    expect(first.connected).toBe(false);
    // Not an opaque "xhr poll error" with status 0: the page reads the 403 and its message.
    expect(first.error?.status).toBe(403);
    expect(String(first.error?.responseText)).toContain(`origin ${page.origin} is not allowed: the operator must add it to CORS_ORIGINS`);

    const second = await connectFromPage(page.origin, node.url);
    expect(second.error?.status).toBe(403);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/^realtime_origin_refusals_total 2$/m);
    // Logged at most once per origin per minute, with the origin.
    const lines = node.logs.filter((l) => l.origin === page.origin);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, refusals: 1, msg: expect.stringContaining('add it to CORS_ORIGINS') });
  });

  it('a page on a listed origin connects over long-polling and gets its join acknowledged', async () => {
    const page = await startPageServer();
    const node = await startServerProcess({ nodeId: 'browser-2', env: { CORS_ORIGINS: page.origin } });
    const outcome = await connectFromPage(page.origin, node.url);
    expect(outcome).toEqual({ connected: true, ack: { ok: true, onlineUsers: 1 } });
    await vi.waitFor(async () => expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/^realtime_origin_refusals_total 0$/m));
  });
});
