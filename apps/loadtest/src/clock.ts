/**
 * Epoch milliseconds with sub-millisecond resolution, monotonic within a
 * process. Worker processes on one machine share the wall clock, so a send
 * time stamped in one process and a receive time read in another compare
 * (latency across machines would need synchronised clocks).
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A promise for `ms` from now whose timer can be cancelled (so a process never waits on a stray timer). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
