import { fileURLToPath } from 'node:url';

/** The browser bundle's file name, inside `dist/browser/`. */
export const BROWSER_BUNDLE_FILE = 'realtime-client.js';

/**
 * Absolute path of the browser bundle: one ESM file with socket.io-client
 * inside, exporting what `@realtime/client` exports (built by `npm run
 * build`). A server serves it as `text/javascript`; its source map is beside
 * it (`.map`).
 */
export function browserBundlePath(): string {
  return fileURLToPath(new URL(`../browser/${BROWSER_BUNDLE_FILE}`, import.meta.url));
}
