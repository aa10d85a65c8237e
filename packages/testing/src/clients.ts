import { Agent } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import type { Ack, EnvelopeData } from '@realtime/protocol';
import { registerTeardown } from './teardown.js';

export type Transport = 'websocket' | 'polling';

export interface ClientOptions {
  transports?: Transport[];
  /** Reconnect automatically (socket.io-client's default). Off by default in tests. */
  reconnection?: boolean;
  extraHeaders?: Record<string, string>;
  /** socket.io-client's `auth` option: sent in the handshake (e.g. `{ token }`). */
  auth?: Record<string, unknown>;
  /**
   * Keep cookies, as a browser does (socket.io-client's `withCredentials`,
   * which in Node.js gives each connection a cookie jar). A load balancer
   * with cookie stickiness needs it for polling. Default true.
   */
  keepCookies?: boolean;
  /**
   * Source address of every connection (e.g. 127.0.0.2; all of 127/8 is
   * local on Linux): to a load balancer that hashes the client address, a
   * different client.
   */
  localAddress?: string;
  /** First reconnection delay and the cap of its backoff (socket.io-client's reconnectionDelay / reconnectionDelayMax), in ms. */
  reconnectionDelayMs?: { first: number; max: number };
}

/** A socket.io-client connected to `url`, closed when the test (or suite) ends. */
export async function connectClient(url: string, options: ClientOptions = {}): Promise<Socket> {
  // Polling requests go through the agent, the WebSocket upgrade too.
  const agent = options.localAddress === undefined ? undefined : new Agent({ keepAlive: true, localAddress: options.localAddress });
  const socket = io(url, {
    transports: options.transports ?? ['websocket', 'polling'],
    reconnection: options.reconnection ?? false,
    ...(options.reconnectionDelayMs === undefined
      ? {}
      : { reconnectionDelay: options.reconnectionDelayMs.first, reconnectionDelayMax: options.reconnectionDelayMs.max }),
    forceNew: true,
    timeout: 10_000,
    withCredentials: options.keepCookies ?? true,
    ...(options.extraHeaders ? { extraHeaders: options.extraHeaders } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
    ...(agent === undefined ? {} : { agent: agent as unknown as string, localAddress: options.localAddress }),
  });
  registerTeardown(() => {
    socket.disconnect();
    agent?.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

/** Connects `n` clients, a bounded number at a time. */
export async function connectClients(url: string | string[], n: number, options: ClientOptions = {}): Promise<Socket[]> {
  const urls = Array.isArray(url) ? url : [url];
  const sockets: Socket[] = new Array<Socket>(n);
  const concurrency = 25;
  for (let start = 0; start < n; start += concurrency) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + concurrency); i++) {
      batch.push(connectClient(urls[i % urls.length] as string, options).then((s) => (sockets[i] = s)));
    }
    await Promise.all(batch);
  }
  return sockets;
}

/** A guide-shaped envelope, as a client following the integration guide sends it. */
export function guideEnvelope(data: Partial<EnvelopeData> & { roomChannel: string }, socket?: Socket, userName = 'Test User') {
  const clientId = socket?.id ?? 'unknown';
  return {
    data: { message: '', roomId: null, ...data },
    time: new Date().toISOString(),
    clientId,
    source: {
      platform: 'web',
      appName: 'Test App',
      appVersion: '1.0.0',
      clientId,
      userName,
      channel: data.roomChannel,
    },
  };
}

/** Emits with an acknowledgement; rejects if none arrives within `timeoutMs`. */
export async function emitWithAck<T extends object = object>(socket: Socket, event: string, ...args: unknown[]): Promise<Ack<T>> {
  return (await socket.timeout(10_000).emitWithAck(event, ...args)) as Ack<T>;
}

/** Records every payload of `event` a socket receives, from now on. */
export function record<T = unknown>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

/** Resolves with the first payload of `event` matching `predicate`. */
export function nextEvent<T = unknown>(
  socket: Socket,
  event: string,
  predicate: (payload: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no "${event}" event matching the predicate within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: T): void => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Resolves on the socket's next `connect`: its reconnection, however long the outage it waits out. */
export function reconnected(socket: Socket, timeoutMs = 120_000): Promise<void> {
  return nextEvent(socket, 'connect', () => true, timeoutMs).then(() => undefined);
}
