/**
 * Calls `probe` every `intervalMs` (default 50 ms) until it returns a value
 * other than `undefined`, and returns that value. A probe that throws counts
 * as "not yet" (a node that is restarting or was just killed refuses
 * connections); the last error is quoted if the deadline passes.
 *
 * @param what what was awaited, for the error: "<what> within <timeoutMs> ms".
 * @param timeoutMs the deadline, in milliseconds from the call.
 */
export async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what} within ${timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
