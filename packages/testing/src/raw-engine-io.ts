import { WebSocket } from 'ws';
import { registerTeardown } from './teardown.js';

/**
 * An Engine.IO v4 connection over a raw WebSocket, for tests that must send
 * what no well-behaved client sends: repeated namespace CONNECTs, crafted
 * JSON, or silence where a pong is due. Frames are Engine.IO packets as
 * text (`4` message + Socket.IO packet, e.g. `40`, `421["event",{…}]`).
 */
export interface RawEngineIo {
  /** Every text frame received so far, in order (the open packet first). */
  readonly frames: string[];
  send(frame: string): void;
  /** Sends one binary WebSocket frame (an Engine.IO binary message: a Socket.IO attachment). */
  sendBinary(data: Uint8Array): void;
  /** Resolves with the first frame (from now on or already received) matching `predicate`. */
  waitForFrame(predicate: (frame: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  close(): void;
  /** Stops reading from the TCP connection (a client that is not reading): the server's writes back up. */
  pause(): void;
}

export interface RawEngineIoOptions {
  /** Answer the server's pings (`2` → `3`), as every client does. Default true. */
  answerPings?: boolean;
  headers?: Record<string, string>;
}

export async function connectRawEngineIo(url: string, options: RawEngineIoOptions = {}): Promise<RawEngineIo> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers: options.headers ?? {} });
  registerTeardown(() => ws.terminate());
  const frames: string[] = [];
  const waiters = new Set<{ predicate: (f: string) => boolean; resolve: (f: string) => void }>();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    const frame = data.toString('utf8');
    if (frame === '2' && options.answerPings !== false) ws.send('3');
    frames.push(frame);
    for (const waiter of waiters) {
      if (waiter.predicate(frame)) {
        waiters.delete(waiter);
        waiter.resolve(frame);
      }
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waitForFrame = (predicate: (f: string) => boolean, timeoutMs = 10_000): Promise<string> => {
    const seen = frames.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (f: string) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms; frames so far: ${frames.slice(-5).join(' | ')}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  await waitForFrame((f) => f.startsWith('0{'));
  return {
    frames,
    send: (frame) => ws.send(frame),
    sendBinary: (data) => ws.send(data, { binary: true }),
    waitForFrame,
    closed,
    close: () => ws.close(),
    pause: () => ws.pause(),
  };
}
