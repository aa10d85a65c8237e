-- KEYS: nodes (zset), clock (hash). ARGV: nodeId, ttlMs, stallMs.
-- Returns 1 while the node is known and within its TTL (refreshed), 0 when
-- it is not (expired, maybe being reaped, or Redis restarted empty): the
-- node must restore, which registers it again.
--
-- Also keeps the evidence that Redis has been serving: `last` is when any
-- node's heartbeat last ran (Redis clock), `since` when the current unbroken
-- run of heartbeats began. A gap longer than stallMs between two heartbeats
-- of the whole cluster means Redis (or every node) was stalled: nobody could
-- refresh anything, so reap-candidates names nobody until Redis has served a
-- full TTL since.
local nodes, clock = KEYS[1], KEYS[2]
local node, ttl, stall = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local last = tonumber(redis.call('HGET', clock, 'last') or '0')
if now - last > stall then
  redis.call('HSET', clock, 'since', string.format('%d', now))
end
redis.call('HSET', clock, 'last', string.format('%d', now))
local seen = tonumber(redis.call('ZSCORE', nodes, node) or '')
if seen == nil or now - seen > ttl then
  return 0
end
redis.call('ZADD', nodes, now, node)
return 1
