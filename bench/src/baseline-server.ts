/**
 * The baseline: plain `socket.io` + `@socket.io/redis-adapter`, nothing else.
 * It speaks just enough of the guide for the load tester to drive it the
 * same way as the real server: join a Socket.IO room, `io.to(room).emit`,
 * ack. With BASELINE_GUIDE_PRESENCE=1 (the join-storm comparison) it also
 * does what a plain implementation of the guide does on joins and leaves:
 * broadcast `join-*`/`leave-*` and announce a count from `fetchSockets()`.
 * Without it, a join is `socket.join` + ack: the fastest plain join, which
 * is what ours is held against for connect rates and memory.
 *
 * Run: PORT=… REDIS_URL=… node bench/dist/baseline-server.js
 * Prints one JSON line `{"event":"listening","port":N}` when ready.
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';

type Ack = (response: unknown) => void;
const REFUSED = { ok: false, error: { code: 'INVALID_PAYLOAD', message: 'data.roomChannel is required' } };
interface Payload {
  data?: { roomChannel?: string; roomId?: string | null };
}

const port = Number(process.env.PORT ?? 0);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = process.env.REDIS_KEY_PREFIX ?? 'baseline:';
const guidePresence = process.env.BASELINE_GUIDE_PRESENCE === '1';

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
for (const client of [pub, sub]) client.on('error', () => undefined);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key: `${key}socket.io` }), serveClient: false });

function roomOf(payload: Payload | undefined, room: boolean): string | undefined {
  const channel = payload?.data?.roomChannel;
  if (typeof channel !== 'string') return undefined;
  return room ? `${channel}/${String(payload?.data?.roomId)}` : channel;
}

async function announceCount(room: string, event: string, payload: Payload | undefined): Promise<void> {
  const sockets = await io.in(room).fetchSockets();
  io.to(room).emit(event, { data: { ...payload?.data, message: '', onlineUsers: sockets.length } });
}

io.on('connection', (socket: Socket) => {
  socket.onAny((event: string, ...args: unknown[]) => {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as Ack) : undefined;
    const payload = args[0] as Payload | undefined;
    switch (event) {
      case 'join-channel':
      case 'join-room':
      case 'leave-channel':
      case 'leave-room': {
        const isRoom = event.endsWith('-room');
        const room = roomOf(payload, isRoom);
        if (room === undefined) return ack?.(REFUSED);
        void (event.startsWith('join') ? socket.join(room) : socket.leave(room));
        if (!guidePresence) return ack?.({ ok: true });
        io.to(room).emit(event, payload);
        announceCount(room, isRoom ? 'room-online-users' : 'online-users', payload).then(
          () => ack?.({ ok: true }),
          (err: Error) => ack?.({ ok: false, error: { code: 'INTERNAL', message: err.message } }),
        );
        return;
      }
      case 'notify-room': {
        const room = roomOf(payload, true);
        if (room !== undefined) io.to(room).emit('notify-room', payload);
        return ack?.({ ok: true });
      }
      default:
        io.to(event).emit(event, payload);
        return ack?.({ ok: true });
    }
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  const address = httpServer.address();
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: typeof address === 'object' && address ? address.port : port })}\n`);
});

process.on('SIGTERM', () => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
