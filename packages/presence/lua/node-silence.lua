-- KEYS: nodes (zset), incarnations (hash). ARGV: nodeId. Returns {the
-- milliseconds since the node's last heartbeat (Redis clock), or -1 when it
-- is not registered (never was, deregistered, or reaped); the incarnation
-- that holds it, or ''}.
local seen = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '')
if seen == nil then return {-1, ''} end
return {now_ms() - seen, redis.call('HGET', KEYS[2], ARGV[1]) or ''}
