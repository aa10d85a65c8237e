import { chromium, type Browser } from 'playwright-core';
import { findBinary } from '@realtime/local-cluster';
import { registerTeardown } from './teardown.js';

/**
 * Flags for a closed network, as root, headless: no sandbox (root), no GPU,
 * no QUIC, and nothing that reaches out on its own (first-run, background
 * networking, component updates, sync).
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Debian's Chromium, headless, driven by playwright-core (which downloads no
 * browser of its own). Closed when the test, or from `beforeAll` the file,
 * that launched it ends.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findBinary('chromium') ?? findBinary('chromium-browser');
  if (executablePath === undefined) throw new Error('chromium is not installed: `apt-get install chromium` (.ci/run does this on CI)');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  registerTeardown(() => browser.close());
  return browser;
}
