import type { RealtimeServer, RealtimeSocket } from './socket-types.js';

/**
 * This node's connections by user (the token's `sub`), kept on connect and
 * disconnect: closing one user's connections costs their number, not a walk
 * over every socket. Anonymous connections are not indexed.
 */
export class UserConnections {
  readonly #byUser = new Map<string, Set<RealtimeSocket>>();

  /** Keeps the index of `io`'s default namespace from now on. */
  static track(io: RealtimeServer): UserConnections {
    const index = new UserConnections();
    io.on('connection', (socket) => {
      const userId = socket.data.principal.userId;
      if (userId === undefined) return;
      index.#add(userId, socket);
      socket.once('disconnect', () => index.#remove(userId, socket));
    });
    return index;
  }

  /** A copy: closing them changes the index. */
  of(userId: string): RealtimeSocket[] {
    return [...(this.#byUser.get(userId) ?? [])];
  }

  #add(userId: string, socket: RealtimeSocket): void {
    let sockets = this.#byUser.get(userId);
    if (sockets === undefined) {
      sockets = new Set();
      this.#byUser.set(userId, sockets);
    }
    sockets.add(socket);
  }

  #remove(userId: string, socket: RealtimeSocket): void {
    const sockets = this.#byUser.get(userId);
    if (sockets === undefined) return;
    sockets.delete(socket);
    if (sockets.size === 0) this.#byUser.delete(userId);
  }
}
