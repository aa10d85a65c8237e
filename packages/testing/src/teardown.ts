import { onTestFinished } from 'vitest';

type Teardown = () => unknown;

/** Teardowns registered outside a test (in `beforeAll`): run by `runSuiteTeardowns` after the file. */
const suiteTeardowns: Teardown[] = [];

/**
 * Registers `fn` to run when the current test ends, or, when called from a
 * `beforeAll`, when the test file ends (see `vitest-setup.ts`). Factories
 * call it so a caller can never forget to tear down what it started.
 */
export function registerTeardown(fn: Teardown): void {
  try {
    onTestFinished(async () => {
      await fn();
    });
  } catch {
    suiteTeardowns.push(fn);
  }
}

/** Runs suite teardowns, newest first (clients before the servers they talk to). */
export async function runSuiteTeardowns(): Promise<void> {
  const errors: unknown[] = [];
  while (suiteTeardowns.length > 0) {
    const fn = suiteTeardowns.pop() as Teardown;
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'suite teardown failed');
}
