/**
 * Calls `log` at most once per `intervalMs` (default one minute), with how
 * many occurrences it stands for (this one and those suppressed since the
 * last line): a repeated condition stays visible without a flood of lines.
 */
export function throttledLog<T>(
  log: (occurrence: T, occurrencesSinceLastLine: number) => void,
  intervalMs = 60_000,
  now: () => number = () => performance.now(),
): (occurrence: T) => void {
  let lastAt: number | undefined;
  let suppressed = 0;
  return (occurrence) => {
    const at = now();
    if (lastAt !== undefined && at - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = at;
    log(occurrence, suppressed + 1);
    suppressed = 0;
  };
}
