import { Manager, io, type Socket } from 'socket.io-client';
import { registerTeardown, type Transport } from '@realtime/testing';

/** How one handshake ended: connected, or refused with the server's `connect_error`. */
export type ConnectOutcome =
  { ok: true; socket: Socket } | { ok: false; message: string; data: { code?: string; message?: string } | undefined };

/**
 * One socket.io-client handshake with `auth: { token }` (none when
 * undefined), without reconnection; closed when the test (or suite) ends.
 */
export function attemptConnect(url: string, token: string | undefined, transport: Transport = 'websocket'): Promise<ConnectOutcome> {
  const socket = io(url, {
    transports: [transport],
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
    ...(token === undefined ? {} : { auth: { token } }),
  });
  registerTeardown(() => socket.disconnect());
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ ok: true, socket }));
    socket.once('connect_error', (err: Error & { data?: { code?: string; message?: string } }) =>
      resolve({ ok: false, message: err.message, data: err.data }),
    );
  });
}

/** Connects, failing the test on a refusal. */
export async function mustConnect(url: string, token: string | undefined, transport?: Transport): Promise<Socket> {
  const outcome = await attemptConnect(url, token, transport);
  if (!outcome.ok) throw new Error(`refused: ${outcome.message} ${JSON.stringify(outcome.data)}`);
  return outcome.socket;
}

/**
 * `count` handshakes of one token, round-robin over `urls`, as close to
 * simultaneous as a client can make them: every Engine.IO session is opened
 * first, then every namespace CONNECT (where the token is checked) is sent
 * in one turn of the event loop, alternating WebSocket and polling.
 */
export async function simultaneousHandshakes(urls: readonly string[], token: string, count: number): Promise<ConnectOutcome[]> {
  const managers = Array.from({ length: count }, (_, i) => {
    const manager = new Manager(urls[i % urls.length], {
      transports: [i % 2 === 0 ? 'websocket' : 'polling'],
      reconnection: false,
      autoConnect: false,
      timeout: 10_000,
    });
    registerTeardown(() => manager.engine?.close());
    return manager;
  });
  await Promise.all(
    managers.map((manager) => new Promise<void>((resolve, reject) => manager.open((err) => (err === undefined ? resolve() : reject(err))))),
  );
  return Promise.all(
    managers.map((manager) => {
      const socket = manager.socket('/', { auth: { token } });
      registerTeardown(() => socket.disconnect());
      const outcome = new Promise<ConnectOutcome>((resolve) => {
        socket.once('connect', () => resolve({ ok: true, socket }));
        socket.once('connect_error', (err: Error & { data?: { code?: string; message?: string } }) =>
          resolve({ ok: false, message: err.message, data: err.data }),
        );
      });
      socket.connect();
      return outcome;
    }),
  );
}
