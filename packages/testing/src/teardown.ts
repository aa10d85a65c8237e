import { afterAll, onTestFinished } from 'vitest';

/**
 * Registers `fn` to run when the current test ends, or, when called from a
 * `beforeAll`, when the suite ends. Factories call it so a caller can never
 * forget to tear down what it started.
 */
export function registerTeardown(fn: () => Promise<unknown> | unknown): void {
  try {
    onTestFinished(async () => {
      await fn();
    });
  } catch {
    afterAll(async () => {
      await fn();
    });
  }
}
