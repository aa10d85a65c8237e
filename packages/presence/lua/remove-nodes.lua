-- ARGV: base, channel, nodeId or '', ttlMs. With a node id, removes that
-- node's memberships and liveness (a graceful shutdown). With '', removes
-- those of every registered node whose liveness key has expired (reaping
-- the dead), but only once Redis has been serving heartbeats without a stall
-- for a full TTL (`servedsince`, kept by heartbeat.lua): a node whose key
-- expired while Redis itself was paused or unreachable was not seen dead,
-- only not seen, and gets that TTL to heartbeat again.
-- Atomic: two survivors reaping at once cannot both get the same entries.
-- Returns {removed, counts}: removed = flat {nodeId, connectionId, topic, meta, ...},
-- counts = flat {topic, count, version, ...}.
local channel, target, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local nodes
if target ~= '' then
  nodes = { target }
else
  nodes = {}
  local since = tonumber(redis.call('GET', base .. 'servedsince') or '')
  if since == nil or now_ms() - since < ttl then
    return { {}, {} }
  end
  for _, node in ipairs(redis.call('SMEMBERS', base .. 'nodes')) do
    if redis.call('EXISTS', base .. 'alive:' .. node) == 0 then nodes[#nodes + 1] = node end
  end
end
local removed = {}
local changed = {}
for _, node in ipairs(nodes) do
  local index = base .. 'n:' .. node
  local entries = redis.call('HGETALL', index)
  for i = 1, #entries, 2 do
    local field = entries[i]
    local at = string.find(field, SEP, 1, true)
    local conn, topic = string.sub(field, 1, at - 1), string.sub(field, at + 1)
    local mkey = base .. 'm:' .. topic
    local member = node .. SEP .. conn
    local meta = redis.call('HGET', mkey, member)
    if meta then
      redis.call('HDEL', mkey, member)
      changed[topic] = true
      removed[#removed + 1] = node
      removed[#removed + 1] = conn
      removed[#removed + 1] = topic
      removed[#removed + 1] = meta
    end
  end
  redis.call('DEL', index, base .. 'alive:' .. node)
  redis.call('SREM', base .. 'nodes', node)
end
return { removed, announce(changed, channel) }
