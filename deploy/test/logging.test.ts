import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it, vi } from 'vitest';
import { SERVER_MAIN, startServerNode } from '@realtime/local-cluster';
import { connectClient, registerTeardown, spawnProcess } from '@realtime/testing';

/** What a log collector (or a person at a terminal) gets from a node's stdout. */
describe('node logs', () => {
  it('JSON lines, the node id on every one, and at debug one line per connection opened and closed', async () => {
    const node = await startServerNode({ nodeId: 'logs-1', env: { LOG_LEVEL: 'debug' } });
    registerTeardown(() => node.stop());
    const client = await connectClient(node.url, { transports: ['websocket'] });
    const id = client.id;
    await node.waitForLog((l) => l.msg === 'connection opened' && l.socketId === id);
    client.disconnect();
    const closed = await node.waitForLog((l) => l.msg === 'connection closed' && l.socketId === id);
    expect(closed).toMatchObject({ level: 20, nodeId: 'logs-1', reason: 'client namespace disconnect' });
    node.signal('SIGTERM');
    await node.exited;
    expect(node.logs.length).toBeGreaterThan(3);
    for (const line of node.logs) {
      expect(line.raw, 'every line is JSON').toBeUndefined();
      expect(line).toMatchObject({ nodeId: 'logs-1', level: expect.any(Number), time: expect.any(String), msg: expect.any(String) });
    }
    expect(node.logs.filter((l) => l.socketId === id).map((l) => l.msg)).toEqual(['connection opened', 'connection closed']);
  });

  it('LOG_LEVEL=info leaves the per-connection lines out', async () => {
    const node = await startServerNode({ nodeId: 'logs-2', env: { LOG_LEVEL: 'info' } });
    registerTeardown(() => node.stop());
    const client = await connectClient(node.url);
    client.disconnect();
    node.signal('SIGTERM');
    await node.exited;
    expect(node.logs.some((l) => l.msg === 'drained')).toBe(true);
    expect(node.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('connection '))).toEqual([]);
  });

  it('LOG_PRETTY=true: readable single lines, still with the node id; a bad value stops the start naming the variable', async () => {
    const { child, exited } = spawnProcess(process.execPath, [SERVER_MAIN], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ID: 'pretty-1', LOG_PRETTY: 'true', LOG_LEVEL: 'info', REDIS_URL: '' },
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    await vi.waitFor(() => expect(lines.some((l) => l.includes('node listening on'))).toBe(true), { timeout: 15_000, interval: 20 });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      expect(() => JSON.parse(line), line).toThrow();
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] \w+: pretty-1 /);
    }

    const bad = spawn(process.execPath, [SERVER_MAIN], {
      env: { ...process.env, PORT: '0', LOG_PRETTY: 'yes please' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await new Promise((resolve) => bad.once('exit', resolve))).toBe(2);
    expect(stderr).toMatch(/LOG_PRETTY must be true or false/);
  });
});
