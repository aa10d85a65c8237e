import { describe, expect, it } from 'vitest';
import { connectRawEngineIo } from '@realtime/testing';
import { startTestNode } from './support/start-test-node.js';

/**
 * Issue "trust", section 6: an Engine.IO session that never completes the
 * namespace connect is closed after CONNECT_TIMEOUT_MS (default 10 000;
 * Socket.IO's own is 45 000), so idle half-connections cannot pile up.
 */
describe('CONNECT_TIMEOUT_MS', () => {
  it('a session that never sends the namespace CONNECT is closed after the timeout; one that connected stays', async () => {
    const { url, node } = await startTestNode({ CONNECT_TIMEOUT_MS: '300' });
    const connected = await connectRawEngineIo(url);
    connected.send('40');
    await connected.waitForFrame((f) => f.startsWith('40{'));
    const startedAt = performance.now();
    const silent = await connectRawEngineIo(url);
    expect(node.io.engine.clientsCount).toBe(2);
    await silent.closed;
    const afterMs = performance.now() - startedAt;
    expect(afterMs).toBeGreaterThanOrEqual(300 - 20);
    // The connected session was older than the silent one, and is still open and served.
    expect(node.io.engine.clientsCount).toBe(1);
    connected.send('421["join-channel",{"data":{"roomChannel":"still"}}]');
    expect(await connected.waitForFrame((f) => f.startsWith('431['))).toContain('"ok":true');
    process.stdout.write(
      `a session without a namespace CONNECT was closed ${Math.round(afterMs)} ms after its handshake (CONNECT_TIMEOUT_MS=300)\n`,
    );
  });

  it('is passed to Socket.IO with the default of 10 000 ms', async () => {
    const { node } = await startTestNode();
    expect((node.io as unknown as { _connectTimeout: number })._connectTimeout).toBe(10_000);
  });
});
