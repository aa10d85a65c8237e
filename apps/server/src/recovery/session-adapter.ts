import { Adapter, type Session } from 'socket.io-adapter';
import type { Namespace, ServerOptions } from 'socket.io';

/** What Socket.IO asks the adapter when a connection is lost, and when a client comes back with a session id. */
export interface SessionHooks {
  persist(session: Parameters<Adapter['persistSession']>[0]): void;
  restore(pid: string, offset: string): Promise<Session | null>;
}

type AdapterFactory = (nsp: Namespace) => Adapter;

/**
 * The adapter with Socket.IO's two session methods answered by `hooks()`
 * (set once the node is built; until then nothing is kept or restored).
 * These are the adapter's documented extension points for connection state
 * recovery; the Redis adapters inherit the in-memory adapter's (which keep
 * nothing), and the sharded one's class is not exported, so the methods are
 * set on each instance here, and nowhere else. `test/session-recovery.test.ts`
 * pins that Socket.IO still calls them.
 *
 * Without Redis, the plain in-memory adapter, not Socket.IO's
 * SessionAwareAdapter (which keeps every packet of the node in memory).
 */
export function withSessionHooks(base: ServerOptions['adapter'] | undefined, hooks: () => SessionHooks | undefined): AdapterFactory {
  const make: AdapterFactory =
    base === undefined
      ? (nsp) => new Adapter(nsp)
      : (nsp) => (typeof base === 'function' ? (base as AdapterFactory)(nsp) : new Adapter(nsp));
  // A plain function, not an arrow: Socket.IO calls the adapter option with `new` (an object returned from a constructor is the result).
  return function sessionAwareAdapter(nsp: Namespace): Adapter {
    const adapter = make(nsp);
    adapter.persistSession = (session) => hooks()?.persist(session);
    adapter.restoreSession = (pid, offset) => (hooks()?.restore(pid, offset) ?? Promise.resolve(null)) as Promise<Session>;
    return adapter;
  };
}
