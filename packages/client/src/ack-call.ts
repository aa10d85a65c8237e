import { ErrorCode } from '@realtime/protocol';
import type { Socket } from 'socket.io-client';
import { RealtimeError, errorFromAckFailure } from './realtime-error.js';

/** A successful acknowledgement; `onlineUsers` only on joins and leaves, and only while the server's store answers. */
export interface AckResult {
  onlineUsers: number | undefined;
  /** Only on `auth-refresh`: the new token's `exp` (unix seconds), when it has one. */
  expiresAt?: number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Emits one event with an acknowledgement on a connected socket. Resolves
 * on `{ ok: true }`; rejects with the server's code on `{ ok: false }`,
 * `TIMEOUT` when no ack came within `timeoutMs`, and `UNAVAILABLE` when the
 * connection was lost before one did (then the event may or may not have
 * taken effect). Never emits on a disconnected socket (socket.io-client
 * would buffer it and send it before the SDK has rejoined anything).
 */
export function callWithAck(socket: Socket, event: string, payload: object, timeoutMs: number): Promise<AckResult> {
  return new Promise<AckResult>((resolve, reject) => {
    const sessionId = socket.id;
    if (!socket.connected || sessionId === undefined) {
      reject(new RealtimeError(ErrorCode.UNAVAILABLE, `not connected: "${event}" was not sent`));
      return;
    }
    if (timeoutMs <= 0) {
      reject(new RealtimeError(ErrorCode.TIMEOUT, `no time left to send "${event}": it was not sent`));
      return;
    }
    socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, response: unknown) => {
      if (err !== null) {
        const lost = !socket.connected || socket.id !== sessionId;
        reject(
          lost
            ? new RealtimeError(
                ErrorCode.UNAVAILABLE,
                `the connection was lost before "${event}" was acknowledged; it may or may not have taken effect`,
                {
                  cause: err,
                },
              )
            : new RealtimeError(ErrorCode.TIMEOUT, `no acknowledgement of "${event}" within ${timeoutMs} ms`, { cause: err }),
        );
        return;
      }
      if (isRecord(response) && response.ok === true) {
        resolve({
          onlineUsers: typeof response.onlineUsers === 'number' ? response.onlineUsers : undefined,
          expiresAt: typeof response.expiresAt === 'number' ? response.expiresAt : undefined,
        });
        return;
      }
      reject(
        isRecord(response) && response.ok === false
          ? errorFromAckFailure(response)
          : new RealtimeError(ErrorCode.INTERNAL, `the server answered "${event}" with an acknowledgement that is not { ok: boolean }`),
      );
    });
  });
}
