import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where system daemons live even when a non-root PATH leaves them out. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of `name` on PATH (or in an sbin directory), or undefined. */
export function findBinary(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...pathEnv.split(delimiter).filter(Boolean), ...SBIN]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Like findBinary, but a missing binary is an error saying how to install it. */
export function requireBinary(name: string, aptPackage: string): string {
  const found = findBinary(name);
  if (found === undefined) {
    throw new Error(
      `${name} is not installed (looked on PATH and in ${SBIN.join(', ')}). ` +
        `Install it with \`apt-get install ${aptPackage}\` — .ci/run does this on CI.`,
    );
  }
  return found;
}
