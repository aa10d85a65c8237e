import { Redis } from 'ioredis';
import { parseClusterNodes, parseInfo, type ClusterNodeLine } from './redis-cluster-views.js';

/**
 * A failed call on one node, without the command's arguments (they may hold
 * the password: MIGRATE … AUTH2). `refused`: nothing listens on the port
 * (the node was killed), as opposed to a node that answered with an error
 * or did not answer in time.
 */
export class NodeCallError extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
    this.name = 'NodeCallError';
  }
}

function errorCode(err: unknown): string | undefined {
  return err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Plain (non-cluster) admin connections to single cluster nodes by port,
 * kept open and reused; a connection that failed is dropped and made again
 * on the next call. No retries and a 2 s command timeout: a killed or hung
 * node fails the call at once, and callers poll.
 */
export class ClusterAdmin {
  readonly #clients = new Map<number, Redis>();

  constructor(
    readonly host: string,
    readonly password: string | undefined,
  ) {}

  async call(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
    const client = await this.#client(port, command);
    try {
      return await client.call(command, ...args);
    } catch (err) {
      if (client.status !== 'ready') this.forget(port);
      throw new NodeCallError(`${command} on port ${port}: ${err instanceof Error ? err.message : String(err)}`, false);
    }
  }

  async #client(port: number, command: string): Promise<Redis> {
    const existing = this.#clients.get(port);
    if (existing?.status === 'ready') return existing;
    this.forget(port);
    const client = new Redis({
      host: this.host,
      port,
      ...(this.password === undefined ? {} : { password: this.password }),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2000,
      commandTimeout: 2000,
    });
    // Every failed call rejects; the event only tells why (connect() itself says "Connection is closed.").
    let socketError: unknown;
    client.on('error', (err) => {
      socketError = err;
    });
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      const refused = errorCode(socketError ?? err) === 'ECONNREFUSED';
      throw new NodeCallError(
        `${command} on port ${port}: ${refused ? 'connection refused' : err instanceof Error ? err.message : String(err)}`,
        refused,
      );
    }
    this.#clients.set(port, client);
    return client;
  }

  async text(port: number, command: string, ...args: (string | number)[]): Promise<string> {
    const reply = await this.call(port, command, ...args);
    if (typeof reply !== 'string') throw new Error(`${command} on port ${port}: expected a string reply`);
    return reply;
  }

  async nodes(port: number): Promise<ClusterNodeLine[]> {
    return parseClusterNodes(await this.text(port, 'CLUSTER', 'NODES'));
  }

  async clusterInfo(port: number): Promise<Map<string, string>> {
    return parseInfo(await this.text(port, 'CLUSTER', 'INFO'));
  }

  async replication(port: number): Promise<Map<string, string>> {
    return parseInfo(await this.text(port, 'INFO', 'replication'));
  }

  /** Drops the connection to `port` (after its node was killed). */
  forget(port: number): void {
    this.#clients.get(port)?.disconnect();
    this.#clients.delete(port);
  }

  close(): void {
    for (const client of this.#clients.values()) client.disconnect();
    this.#clients.clear();
  }
}

/** `fn()`, or `undefined` when its node refuses connections (it is down). */
export async function unlessRefused<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NodeCallError && err.refused) return undefined;
    throw err;
  }
}
