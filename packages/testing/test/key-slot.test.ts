import { describe, expect, it } from 'vitest';
import { keySlot } from '../src/index.js';

describe('keySlot', () => {
  it("matches Redis's CLUSTER KEYSLOT, hash tags included", () => {
    // Values from the Redis Cluster specification and CLUSTER KEYSLOT's documentation.
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag does not count; only the first tag does.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });
});
