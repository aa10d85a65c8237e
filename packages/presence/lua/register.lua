-- KEYS: nodes (zset). ARGV: nodeId. Marks the node alive now; the first
-- step of a restore, so no survivor starts reaping it while the snapshot
-- is on its way.
redis.call('ZADD', KEYS[1], now_ms(), ARGV[1])
return 1
