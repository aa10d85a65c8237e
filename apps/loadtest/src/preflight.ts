import { LoadClient } from './client.js';
import type { ResolvedOptions } from './options.js';

/** No connection to some target: the run cannot mean anything. */
export class TargetUnreachableError extends Error {
  override readonly name = 'TargetUnreachableError';
}

/**
 * One probe connection per target before anything else, so a target that
 * refuses connections (or does not speak Socket.IO) ends the run at once
 * with a clear error, instead of N failed clients and a meaningless report.
 */
export async function checkTargets(options: ResolvedOptions): Promise<void> {
  const transport = options.transport === 'polling' ? 'polling' : 'websocket';
  const timeoutMs = Math.min(options.ackTimeoutMs, 5000);
  const problems = await Promise.all(
    options.targets.map(async (url, t) => {
      const probe = new LoadClient(
        -1,
        t,
        url,
        transport,
        () => undefined,
        () => undefined,
      );
      const outcome = await probe.connect(timeoutMs);
      probe.disconnect();
      return outcome.ok ? null : `${url} (${transport}): ${outcome.detail}`;
    }),
  );
  const failed = problems.filter((p): p is string => p !== null);
  if (failed.length === 0) return;
  throw new TargetUnreachableError(
    `cannot connect to ${failed.length === options.targets.length ? 'any' : `${failed.length} of ${options.targets.length}`} target${options.targets.length === 1 ? '' : 's'}:\n` +
      failed.map((f) => `  ${f}\n`).join('') +
      'Is a server listening there? Check --targets (and --transport), e.g. --targets http://127.0.0.1:3000',
  );
}
