import { describe, expect, it } from 'vitest';
import { connectClient, emitWithAck, nextEvent, record, uniqueKeyPrefix } from '@realtime/testing';
import { startTestNode } from './support/start-test-node.js';
import { redisEnv } from './support/redis-env.js';
import { channelTopic } from '../src/topics.js';

/**
 * Beyond one room per broadcast: a direct emit to a socket id, and one
 * broadcast to several rooms at once, from a node that holds none of the
 * recipients. The sharded adapter sends those on its namespace channel
 * (which every node subscribes), not on a room's channel: they must still
 * reach remote nodes, once, in every Redis mode with the sharded adapter.
 */

describe.each(['standalone', 'cluster'] as const)('sharded adapter on %s Redis', (topology) => {
  it('a direct emit to a remote socket id, and a broadcast to two rooms at once, reach remote members once', async () => {
    const env = { ...(await redisEnv(topology)), ADAPTER_MODE: 'sharded', REDIS_KEY_PREFIX: uniqueKeyPrefix('routing') };
    const a = await startTestNode(env);
    const b = await startTestNode(env);
    const [onB1, onB2] = await Promise.all([connectClient(b.url), connectClient(b.url)]);
    await emitWithAck(onB1, 'join-channel', { data: { roomChannel: 'first' } });
    await emitWithAck(onB1, 'join-channel', { data: { roomChannel: 'second' } });
    await emitWithAck(onB2, 'join-channel', { data: { roomChannel: 'second' } });

    const direct = nextEvent<string>(onB2, 'direct');
    a.node.io.to(onB2.id!).emit('direct', 'to you');
    expect(await direct).toBe('to you');

    const seen = [record<string>(onB1, 'both'), record<string>(onB2, 'both')];
    const markers = [onB1, onB2].map((s) => nextEvent<string>(s, 'both', (m) => m === 'marker'));
    const rooms = [channelTopic('first'), channelTopic('second')];
    a.node.io.to(rooms).emit('both', 'to two rooms');
    // The same path again: it arrives after the first, so a duplicate would be in by then.
    a.node.io.to(rooms).emit('both', 'marker');
    await Promise.all(markers);
    // In both rooms, onB1 still gets it once.
    expect(seen.map((s) => s.filter((m) => m === 'to two rooms').length)).toEqual([1, 1]);
  });
});
