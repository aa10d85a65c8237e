/**
 * What failed: `connect`, `join`, `leave`, `send` (a refused or unacknowledged message), `reconnect` (churn)
 * or `disconnect` (a connection the load tester did not close).
 */
export type FailurePhase = 'connect' | 'join' | 'leave' | 'send' | 'reconnect' | 'disconnect';

export interface FailureSummary {
  total: number;
  /** Counts by `<phase>: <reason>`, e.g. `connect: ECONNREFUSED`, `send: RATE_LIMITED`, `join: ack timeout`. */
  byReason: Record<string, number>;
  /** The first full error text seen for each reason. */
  examples: Record<string, string>;
}

export class FailureCounter {
  private readonly counts = new Map<string, number>();
  private readonly examples = new Map<string, string>();

  add(phase: FailurePhase, reason: string, detail?: string): void {
    const key = `${phase}: ${reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (!this.examples.has(key)) this.examples.set(key, detail ?? reason);
  }

  count(phase?: FailurePhase): number {
    let total = 0;
    for (const [key, n] of this.counts) if (phase === undefined || key.startsWith(`${phase}: `)) total += n;
    return total;
  }

  summary(): FailureSummary {
    return { total: this.count(), byReason: Object.fromEntries(this.counts), examples: Object.fromEntries(this.examples) };
  }
}

export function mergeFailures(summaries: readonly FailureSummary[]): FailureSummary {
  const merged: FailureSummary = { total: 0, byReason: {}, examples: {} };
  for (const summary of summaries) {
    merged.total += summary.total;
    for (const [key, n] of Object.entries(summary.byReason)) merged.byReason[key] = (merged.byReason[key] ?? 0) + n;
    for (const [key, text] of Object.entries(summary.examples)) merged.examples[key] ??= text;
  }
  return merged;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

const ERRNO = /\b(E[A-Z]{3,}[A-Z_]*)\b/;

/**
 * A short, stable reason for a socket.io-client `connect_error`, plus its
 * full text. socket.io-client hides the cause in different places per
 * transport: websocket → `description.message` (an ErrorEvent), polling →
 * `context.responseText` (status 0) or the HTTP status in `description`.
 */
export function connectFailureReason(err: unknown): { reason: string; detail: string } {
  const message = String(field(err, 'message') ?? err);
  const description = field(err, 'description');
  const context = field(err, 'context');
  let detail = message;
  const descriptionMessage = field(description, 'message');
  if (typeof descriptionMessage === 'string') detail = descriptionMessage;
  else if (typeof description === 'number' && description !== 0) detail = `HTTP ${description}`;
  else {
    const text = field(context, 'responseText');
    if (typeof text === 'string' && text !== '') detail = text.split('\n')[0] ?? text;
  }
  const errno = ERRNO.exec(detail)?.[1];
  if (errno !== undefined) return { reason: errno, detail };
  const status = /(?:HTTP |response: )(\d{3})/.exec(detail)?.[1];
  if (status !== undefined) return { reason: `HTTP ${status}`, detail };
  if (message === 'timeout') return { reason: 'timeout', detail: 'no connection within --ack-timeout' };
  return { reason: detail.length > 60 ? `${detail.slice(0, 57)}...` : detail, detail };
}
