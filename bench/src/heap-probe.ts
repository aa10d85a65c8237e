import WebSocket from 'ws';

/**
 * Reads a Node process's used heap after a full GC, through the inspector
 * protocol (the process runs with `--inspect=127.0.0.1:0`). Works the same
 * for any server, so ours and the baseline are measured alike.
 */
export class HeapProbe {
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const message = JSON.parse(
        Buffer.isBuffer(raw) ? raw.toString() : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]).toString(),
      ) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result);
    });
  }

  /** `inspectorUrl` is the ws:// URL the process printed ("Debugger listening on …"). */
  static async connect(inspectorUrl: string): Promise<HeapProbe> {
    const socket = new WebSocket(inspectorUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new HeapProbe(socket);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector call ${method} timed out`)), 30_000);
      this.pending.set(id, (result) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(result);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Used heap in bytes after two full collections. */
  async heapUsedAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const result = (await this.call('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed',
      returnByValue: true,
    })) as { result: { value: number } };
    return result.result.value;
  }

  close(): void {
    this.socket.close();
  }
}
