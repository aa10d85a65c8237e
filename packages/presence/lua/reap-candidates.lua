-- KEYS: nodes (zset), clock (hash), reaping (hash).
-- ARGV: ttlMs, reaper (incarnation), leaseMs, max, self (the reaper's node id,
-- never named), graceMs.
-- Names up to `max` nodes whose last heartbeat is older than the TTL plus the
-- grace (PRESENCE_GRACE_MS: a dead node's members stay counted that long, so
-- that connections recovered on other nodes meanwhile never leave) and
-- that nobody else is reaping, and takes a lease on each for leaseMs (renewed
-- by calling again; a reaper that dies mid-way loses it and another goes
-- on). Names nobody until Redis has served heartbeats for a full TTL since
-- its last stall (see heartbeat.lua): a node whose heartbeat was missed while
-- Redis itself was paused or unreachable was not seen dead, only not seen.
local nodes, clock, reaping = KEYS[1], KEYS[2], KEYS[3]
local ttl, reaper, lease, max, self = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local grace = tonumber(ARGV[6] or '0')
local now = now_ms()
local since = tonumber(redis.call('HGET', clock, 'since') or '')
if since == nil or now - since < ttl then
  return {}
end
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', nodes, '-inf', '(' .. string.format('%d', now - ttl - grace), 'LIMIT', 0, max * 4)) do
  local held = redis.call('HGET', reaping, node)
  local free = node ~= self
  if free and held then
    local at = string.find(held, SEP, 1, true)
    free = string.sub(held, 1, at - 1) == reaper or tonumber(string.sub(held, at + 1)) < now
  end
  if free then
    redis.call('HSET', reaping, node, reaper .. SEP .. string.format('%d', now + lease))
    out[#out + 1] = node
    if #out >= max then break end
  end
end
return out
