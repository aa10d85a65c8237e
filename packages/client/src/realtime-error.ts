import { ERROR_REGISTRY, ErrorCode, isErrorCode } from '@realtime/protocol';

/**
 * What every SDK promise rejects with. `code` is always one of the
 * protocol registry's codes: the server's own when it refused, `TIMEOUT`
 * when no acknowledgement came in time, `UNAVAILABLE` when the connection
 * was lost (or the client closed) before one did.
 */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  readonly code: ErrorCode;
  /** Whether the same call, unchanged, may succeed later (from the registry). */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = ERROR_REGISTRY[code].retryable;
  }
}

export function isRealtimeError(value: unknown): value is RealtimeError {
  return value instanceof RealtimeError;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * The error in a failed acknowledgement, `{ ok: false, error: { code, message } }`.
 * A code this SDK does not know (a newer server) becomes `INTERNAL`, naming it.
 */
export function errorFromAckFailure(response: unknown): RealtimeError {
  const error = isRecord(response) && isRecord(response.error) ? response.error : undefined;
  const message = typeof error?.message === 'string' ? error.message : 'the server refused the request';
  if (isErrorCode(error?.code)) return new RealtimeError(error.code, message);
  const named = typeof error?.code === 'string' ? ` with unknown code ${error.code}` : ' without an error code';
  return new RealtimeError(ErrorCode.INTERNAL, `the server refused the request${named}: ${message}`);
}

/** A `connect_error`: the server's code when its refusal carries one (`err.data.code`), else `UNAVAILABLE`. */
export function errorFromConnectError(err: unknown): RealtimeError {
  const message = err instanceof Error ? err.message : String(err);
  const data = isRecord(err) && isRecord(err.data) ? err.data : undefined;
  if (isErrorCode(data?.code)) {
    return new RealtimeError(data.code, typeof data.message === 'string' ? data.message : message, { cause: err });
  }
  return new RealtimeError(ErrorCode.UNAVAILABLE, `could not connect: ${message}`, { cause: err });
}
