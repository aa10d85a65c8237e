import type { Socket } from 'socket.io-client';
import { emitWithAck } from './clients.js';

/** What `startChannelTraffic` sent, per publisher (its channel), in sending order. */
export interface ChannelTraffic {
  /** Messages whose ack said `ok`: stored and delivered (with recovery on, an ack means stored). */
  readonly acked: string[][];
  /** Messages refused, or whose ack never came (lost in a disconnect, or timed out). */
  readonly unacked: string[][];
  /** Stops sending and resolves once every message sent has its ack or its timeout. */
  stop(): Promise<void>;
}

/**
 * Live traffic for fault tests: publisher `c` sends `<c>:<n>` to
 * `channelOf(c)` `ratePerSecond` times a second, each with an ack, until
 * stopped; socket.io-client holds what is emitted while it is disconnected.
 * The publishers must have joined their channels.
 */
export function startChannelTraffic(
  publishers: readonly Socket[],
  channelOf: (c: number) => string,
  ratePerSecond: number,
): ChannelTraffic {
  const acked = publishers.map(() => [] as string[]);
  const unacked = publishers.map(() => [] as string[]);
  const inFlight: Promise<void>[] = [];
  let tick = 0;
  const timer = setInterval(() => {
    const n = tick++;
    publishers.forEach((publisher, c) => {
      const message = `${c}:${n}`;
      inFlight.push(
        emitWithAck(publisher, channelOf(c), { data: { roomChannel: channelOf(c), message } }).then(
          (ack) => void (ack.ok ? acked[c]! : unacked[c]!).push(message),
          () => void unacked[c]!.push(message),
        ),
      );
    });
  }, 1000 / ratePerSecond);
  return {
    acked,
    unacked,
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}
