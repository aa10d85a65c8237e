import { createServer, connect, type Server, type Socket } from 'node:net';
import { registerTeardown } from './teardown.js';

/**
 * A TCP proxy in front of a node, for network faults as a client sees
 * them: `cut()` destroys every connection through it (the client's socket
 * closes, as when a phone changes networks), `block()` makes new ones fail
 * at once (the client's reconnection attempts fail) until `unblock()`, and
 * `retarget()` sends later connections to another node (a client coming
 * back through another replica). Websocket and polling alike.
 */
export interface CuttableProxy {
  readonly url: string;
  cut(): void;
  block(): void;
  unblock(): void;
  retarget(port: number): void;
  /**
   * A network outage of `ms`: blocks, cuts every connection, and after `ms`
   * sends later connections to `comeBackToPort` (if given) and unblocks.
   * Resolves once the client can get through again.
   */
  outage(ms: number, comeBackToPort?: number): Promise<void>;
  /** Connections through the proxy now. */
  readonly open: number;
}

export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  let target = targetPort;
  let blocked = false;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const cut = (): void => {
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  registerTeardown(
    () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    cut,
    block: () => (blocked = true),
    unblock: () => (blocked = false),
    retarget: (p) => (target = p),
    outage: async (ms, comeBackToPort) => {
      blocked = true;
      cut();
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (comeBackToPort !== undefined) target = comeBackToPort;
      blocked = false;
    },
    get open() {
      return pairs.size;
    },
  };
}
