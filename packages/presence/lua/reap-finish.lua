-- KEYS: nodes (zset), reaping (hash), incarnations (hash). ARGV: nodeId, ttlMs, reaper, mode
-- ('0' reaped | '1' deregister | '2' retire).
-- After a node's index was swept: forgets the node unless it heartbeat or
-- restored meanwhile (then it is alive and its new entries stayed), and
-- releases this reaper's lease. A deregistering node forgets itself; a
-- retiring one (it keeps members within their grace) marks itself dead as
-- of now, so survivors reap what is left once the grace has passed.
local nodes, reaping, incarnations = KEYS[1], KEYS[2], KEYS[3]
local node, ttl, reaper, deregister = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local seen = tonumber(redis.call('ZSCORE', nodes, node) or '')
if deregister == '2' then
  redis.call('ZADD', nodes, now_ms() - ttl - 1, node)
elseif deregister == '1' or seen == nil or now_ms() - seen > ttl then
  redis.call('ZREM', nodes, node)
  redis.call('HDEL', incarnations, node)
end
local held = redis.call('HGET', reaping, node)
if held and string.sub(held, 1, #reaper + 1) == reaper .. SEP then
  redis.call('HDEL', reaping, node)
end
return 1
