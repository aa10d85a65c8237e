import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Total CPU ms used by several processes between `start()` and `stop()`. */
export function cpuMeter(pids: readonly number[]): { stop(): number } {
  const before = pids.map(processCpuMs);
  return {
    stop: () => pids.reduce((sum, pid, i) => sum + processCpuMs(pid) - (before[i] as number), 0),
  };
}
