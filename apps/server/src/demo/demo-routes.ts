import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { DEMO_PAGE_HTML } from './demo-page-html.js';

/**
 * Where the SDK's browser bundle is, if it is installed and built: the
 * server does not depend on `@realtime/client` (its image would carry
 * socket.io-client for nothing), so the demo looks for it at run time.
 */
export function findBrowserBundle(): string | undefined {
  try {
    const path = fileURLToPath(import.meta.resolve('@realtime/client/browser'));
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GET /demo: a page that joins a channel, chats, joins a room and shows live
 * counts and join/leave events, through the SDK bundle it loads from
 * /demo/realtime-client.js. Without the bundle, /demo says how to build it.
 */
export function registerDemoRoutes(app: FastifyInstance, bundlePath: string | undefined): void {
  const bundle = bundlePath === undefined ? undefined : readFileSync(bundlePath);
  const map = bundlePath !== undefined && existsSync(`${bundlePath}.map`) ? readFileSync(`${bundlePath}.map`) : undefined;
  app.get('/demo', async (_request, reply) => {
    if (bundle === undefined) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The demo needs the SDK bundle: run `npm run build` (it builds packages/client), then restart.');
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(DEMO_PAGE_HTML);
  });
  app.get('/demo/realtime-client.js', async (_request, reply) => {
    if (bundle === undefined) return reply.code(404).send();
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(bundle);
  });
  app.get('/demo/realtime-client.js.map', async (_request, reply) => {
    if (map === undefined) return reply.code(404).send();
    return reply.type('application/json').send(map);
  });
}
