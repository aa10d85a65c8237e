import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { browserBundlePath } from './bundle-path.js';

/** The SDK's compiled entry, bundled as it is (tsc builds it first). */
const ENTRY = fileURLToPath(new URL('../index.js', import.meta.url));

/** Packages whose Node variants a browser bundle must never contain (engine.io-client swaps them out for browsers). */
const NODE_ONLY = /node_modules\/(ws|xmlhttprequest-ssl|debug|supports-color)\//;

export interface BundleFigures {
  path: string;
  bytes: number;
  inputs: string[];
}

/**
 * Builds the browser bundle with esbuild: ESM, minified, with a source map,
 * socket.io-client inside. Built for the browser platform, so any import of a
 * Node built-in fails the build; the Node-only packages are refused too.
 */
export async function buildBrowserBundle(): Promise<BundleFigures> {
  const outfile = browserBundlePath();
  const result = await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((input) => NODE_ONLY.test(input));
  if (nodeOnly.length > 0) throw new Error(`the browser bundle would contain Node-only modules: ${nodeOnly.join(', ')}`);
  return { path: outfile, bytes: statSync(outfile).size, inputs };
}

/** Whether the bundle is missing or older than a compiled module of the SDK or the protocol. */
export function browserBundleIsStale(): boolean {
  let builtAt: number;
  try {
    builtAt = statSync(browserBundlePath()).mtimeMs;
  } catch {
    return true;
  }
  const directories = [dirname(ENTRY), dirname(fileURLToPath(import.meta.resolve('@realtime/protocol')))];
  return directories.some((directory) =>
    readdirSync(directory)
      .filter((name) => name.endsWith('.js'))
      .some((name) => statSync(join(directory, name)).mtimeMs > builtAt),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await buildBrowserBundle();
  console.log(`browser bundle: ${figures.path} (${(figures.bytes / 1024).toFixed(1)} KiB)`);
}
