import { describe, expect, it, vi } from 'vitest';
import type { OnlineUsersEnvelope, RelayedEnvelope } from '@realtime/protocol';
import { Membership } from '../src/membership.js';
import { KeySerializer } from '../src/key-serializer.js';
import { TypedEmitter } from '../src/typed-emitter.js';

const envelope = (message: string): RelayedEnvelope => ({
  data: { message, roomId: null, roomChannel: 'c' },
  time: 't',
  clientId: 'x',
  source: { clientId: 'x' },
  serverTime: 't',
});
const count = (onlineUsers: number): OnlineUsersEnvelope => ({
  data: { message: '', roomId: null, roomChannel: 'c', onlineUsers },
  time: 't',
  clientId: 'server',
  source: { platform: 'server', clientId: 'server', channel: 'c' },
  serverTime: 't',
});

describe('a membership', () => {
  it('holds events received before its join resolved and delivers them, in order, on a later turn', async () => {
    const membership = new Membership({ kind: 'channel', channel: 'c', roomId: null });
    membership.deliver('join', envelope('own join'));
    membership.deliver('online-users', count(2));
    membership.deliver('message', envelope('early'));
    membership.state = 'joined';
    membership.onlineUsers = 1;
    // The join promise resolves here; its continuation attaches listeners in the same turn.
    membership.releaseHeld();
    const seen: string[] = [];
    membership.events.on('join', (e) => seen.push(`join:${e.data.message}`));
    membership.events.on('online-users', (n) => seen.push(`count:${n}`));
    membership.events.on('message', (e) => seen.push(`message:${e.data.message}`));
    membership.deliver('message', envelope('after'));
    expect(seen).toEqual([]);
    await vi.waitFor(() => expect(seen).toEqual(['join:own join', 'count:2', 'message:early', 'message:after']));
    expect(membership.onlineUsers).toBe(2);
    membership.deliver('message', envelope('live'));
    expect(seen.at(-1)).toBe('message:live');
  });

  it('delivers nothing once it has ended', () => {
    const membership = new Membership({ kind: 'room', channel: 'c', roomId: 'r' });
    membership.state = 'joined';
    membership.releaseHeld();
    const seen: unknown[] = [];
    membership.events.on('message', (e) => seen.push(e));
    membership.state = 'left';
    membership.deliver('message', envelope('late'));
    expect(seen).toEqual([]);
  });
});

describe('the key serializer', () => {
  it('runs one key’s operations one after another, a failure not stopping the next, other keys concurrently', async () => {
    const serializer = new KeySerializer();
    const log: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      serializer.run('k', step('a', 30, true)),
      serializer.run('k', step('b', 1)),
      serializer.run('other', step('c', 1)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a')).toBeLessThan(log.indexOf('start b'));
    expect(log.indexOf('end c')).toBeLessThan(log.indexOf('end a'));
  });
});

describe('the typed emitter', () => {
  it('a throwing listener does not keep the others from running; its error surfaces on a later turn', async () => {
    class Emitter extends TypedEmitter<{ ping: (n: number) => void }> {}
    const emitter = new Emitter();
    const thrown = new Error('listener bug');
    const seen: number[] = [];
    emitter.on('ping', () => {
      throw thrown;
    });
    emitter.on('ping', (n) => seen.push(n));
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    emitter.emit('ping', 1);
    expect(seen).toEqual([1]);
    expect(await uncaught).toBe(thrown);
  });
});
