import type { Socket } from 'socket.io-client';
import type { AuthExpiring, ServerClose } from '@realtime/protocol';
import { nextEvent } from '@realtime/testing';

/** Unix seconds now, as a token's claims count. */
export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}

/** An event with the wall-clock time it arrived (epoch ms). */
export interface Timed<T> {
  payload: T;
  atMs: number;
}

function timed<T>(socket: Socket, event: string, timeoutMs: number): Promise<Timed<T>> {
  return nextEvent<T>(socket, event, () => true, timeoutMs).then((payload) => ({ payload, atMs: Date.now() }));
}

/** The next `auth-expiring`, with when it arrived. */
export function nextExpiring(socket: Socket, timeoutMs = 15_000): Promise<Timed<AuthExpiring>> {
  return timed<AuthExpiring>(socket, 'auth-expiring', timeoutMs);
}

/** What a client saw of a server close: the event (with when it arrived), then the disconnect reason. */
export function watchClose(socket: Socket, timeoutMs = 15_000): { event: Promise<Timed<ServerClose>>; reason: Promise<string> } {
  const event = timed<ServerClose>(socket, 'server-close', timeoutMs);
  const reason = new Promise<string>((resolve) => socket.once('disconnect', (r) => resolve(r)));
  return { event, reason };
}

/** One series of a node's /metrics, or undefined when it is not there. */
export { seriesValue as metricValue } from './node-metrics.js';
