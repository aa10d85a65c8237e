import { describe, expect, it } from 'vitest';
import { MemoryTopicHistory, type HistoryChannel } from '../src/index.js';
import { describeTopicHistory } from './describe-topic-history.js';

describeTopicHistory('MemoryTopicHistory', async () => {
  // One shared state stands for one Redis: each history() is a client of it.
  let nowMs = 1_000_000;
  const listeners = new Map<string, string[]>();
  const options = {
    now: () => nowMs,
    onPublish: (channel: HistoryChannel, message: string) => listeners.get(channel)?.push(message),
  };
  let shared: MemoryTopicHistory | undefined;
  let sharedLimits = '';
  return {
    keyPrefix: 'rt:',
    async history(limits = {}) {
      const key = JSON.stringify(limits);
      if (shared === undefined || key !== sharedLimits) {
        shared = new MemoryTopicHistory({ ...options, ...limits });
        sharedLimits = key;
      }
      return shared;
    },
    async outlive(_topic, windowMs) {
      nowMs += windowMs;
    },
    async wipe() {
      shared?.clear();
    },
    async listen(channel) {
      const seen: string[] = [];
      listeners.set(channel, seen);
      return seen;
    },
    async awaitMessages(seen, n) {
      if (seen.length < n) throw new Error(`${seen.length} of ${n} messages published`);
    },
  };
});

describe('MemoryTopicHistory window', () => {
  it('keeps a topic while it is appended to within the window, and forgets it exactly when the window has passed since the last append', async () => {
    let nowMs = 0;
    const history = new MemoryTopicHistory({ windowMs: 1000, now: () => nowMs });
    const first = await history.append('chan', 'a');
    nowMs = 999;
    await history.append('chan', 'b');
    nowMs = 1998;
    expect(await history.since('chan', { offset: 0, epoch: first.epoch, tag: '' }, 10)).toMatchObject({
      ok: true,
      items: [{ offset: 1 }, { offset: 2 }],
    });
    nowMs = 1999;
    expect(await history.since('chan', { offset: 0, epoch: first.epoch, tag: '' }, 10)).toEqual({ ok: false, reason: 'epoch' });
  });
});
