import { io, type Socket } from 'socket.io-client';
import { HeapProbe } from './heap-probe.js';
import type { BenchCluster } from './bench-cluster.js';

/**
 * Heap per idle connection that has joined one channel and one room: the
 * servers' used heap after GC with `clients` such connections, minus before,
 * divided by `clients`. Same client code for both implementations.
 */
export async function heapPerIdleConnection(cluster: BenchCluster, clients: number): Promise<number> {
  const probes = await Promise.all(cluster.nodes.map((n) => HeapProbe.connect(n.inspectorUrl)));
  const heap = async (): Promise<number> => (await Promise.all(probes.map((p) => p.heapUsedAfterGc()))).reduce((a, b) => a + b, 0);
  const sockets: Socket[] = [];
  try {
    const before = await heap();
    for (let start = 0; start < clients; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, clients - start) }, async (_, k) => {
          const i = start + k;
          const socket = io(cluster.urls[i % cluster.urls.length] as string, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
          });
          sockets.push(socket);
          await new Promise<void>((resolve, reject) => {
            socket.once('connect', () => resolve());
            socket.once('connect_error', reject);
          });
          const channel = `idle-${i % 10}`;
          await socket.timeout(10_000).emitWithAck('join-channel', { data: { message: '', roomId: null, roomChannel: channel } });
          await socket.timeout(10_000).emitWithAck('join-room', { data: { message: '', roomId: `r${i % 100}`, roomChannel: channel } });
        }),
      );
    }
    const after = await heap();
    return (after - before) / clients;
  } finally {
    for (const socket of sockets) socket.disconnect();
    for (const probe of probes) probe.close();
  }
}
