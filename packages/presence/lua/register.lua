-- KEYS: nodes (zset), incarnations (hash). ARGV: nodeId, incarnation.
-- Marks the node alive now, held by this incarnation (a process restarted
-- under the same id replaces its predecessor here); the first step of a
-- restore, so no survivor starts reaping it while the snapshot is on its way.
redis.call('ZADD', KEYS[1], now_ms(), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
