import { describe, expect, it } from 'vitest';
import { ConnectRetry } from '../src/connect-retry.js';

/** The backoff of handshakes refused with a retryable code (CONNECTION_LIMIT): socket.io-client's reconnection shape. */
describe('ConnectRetry', () => {
  it('doubles from the first delay up to the maximum, ±50% jitter, and starts over after a reset', () => {
    const middle = new ConnectRetry(100, 1000, () => 0.5);
    expect([1, 2, 3, 4, 5, 6].map(() => middle.nextDelayMs())).toEqual([100, 200, 400, 800, 1000, 1000]);
    middle.reset();
    expect(middle.nextDelayMs()).toBe(100);
    expect(new ConnectRetry(100, 1000, () => 0).nextDelayMs()).toBe(50);
    // Jitter never goes past the maximum.
    const high = new ConnectRetry(100, 1000, () => 0.999);
    expect([1, 2, 3, 4, 5].map(() => high.nextDelayMs())).toEqual([150, 300, 600, 1000, 1000]);
  });
});
