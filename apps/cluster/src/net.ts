import { createConnection, createServer } from 'node:net';

/** A TCP port free on `host` right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a listening socket'));
      });
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolves once `host:port` accepts TCP connections. For processes that
 * print nothing when they are ready (haproxy): polls every 20 ms, and gives up
 * when `gaveUp` settles first or after `timeoutMs`.
 */
export async function waitForPort(host: string, port: number, gaveUp: Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  let stopped = false;
  void gaveUp.then(() => (stopped = true));
  const deadline = Date.now() + timeoutMs;
  while (!stopped) {
    if (await canConnect(host, port)) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the process that should listen on ${host}:${port} exited`);
}
