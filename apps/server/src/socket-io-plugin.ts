import fp from 'fastify-plugin';
import { Server, type ServerOptions } from 'socket.io';
import type { RealtimeServer } from './socket-types.js';

declare module 'fastify' {
  interface FastifyInstance {
    io: RealtimeServer;
  }
}

export interface SocketIoPluginOptions {
  serverOptions: Partial<ServerOptions>;
}

/**
 * Attaches a Socket.IO server to Fastify's HTTP server and decorates
 * `fastify.io`. Written here because `fastify-socket.io` 5.1 requires
 * Fastify 4 (end-of-life) and types nothing. On close, live connections are
 * closed before Fastify stops listening, and the adapter is closed after.
 */
export const socketIoPlugin = fp<SocketIoPluginOptions>(
  async (fastify, options) => {
    const io: RealtimeServer = new Server(fastify.server, options.serverOptions);
    fastify.decorate('io', io);
    fastify.addHook('preClose', async () => {
      // Transport-level close: clients see "transport close" and reconnect
      // (to another node behind a load balancer), unlike a server disconnect.
      io.engine.close();
    });
    fastify.addHook('onClose', async () => {
      await io.of('/').adapter.close();
    });
  },
  { name: 'socket.io', fastify: '5.x' },
);
