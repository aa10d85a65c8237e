import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The package runs in browsers as it is: it imports nothing but its own
 * modules and is built without Node (or DOM) typings.
 */
const SRC = new URL('../src/', import.meta.url);

describe('the protocol package is isomorphic', () => {
  it('its sources import only each other', () => {
    for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, SRC), 'utf8');
      const specifiers = [...source.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/g)].map((m) => m[1] ?? m[2]);
      for (const specifier of specifiers) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.js$/);
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\b(Buffer|process|require|__dirname|globalThis)\b/);
    }
  });

  it('is built without Node typings', () => {
    const tsconfig = readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8');
    expect(tsconfig).toMatch(/"types":\s*\[\]/);
  });
});
