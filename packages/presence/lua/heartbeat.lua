-- ARGV: base, nodeId, ttlMs, stallMs. Returns 1 while the node is known, 0
-- when its liveness key is gone (expired and maybe reaped, or Redis
-- restarted empty).
--
-- Also keeps the evidence that Redis has been serving: `lastbeat` is when
-- any node's heartbeat last ran (Redis clock), `servedsince` when the
-- current unbroken run of heartbeats began. A gap longer than stallMs
-- between two heartbeats of the whole cluster means Redis (or every node)
-- was stalled: nobody could refresh a liveness key, so remove-nodes reaps
-- nobody until Redis has served a full TTL since (see remove-nodes.lua).
local node, ttl, stall = ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
local last = tonumber(redis.call('GET', base .. 'lastbeat') or '0')
if now - last > stall then
  redis.call('SET', base .. 'servedsince', string.format('%d', now))
end
redis.call('SET', base .. 'lastbeat', string.format('%d', now))
if redis.call('PEXPIRE', base .. 'alive:' .. node, ttl) == 1 then
  return 1
end
return 0
