-- ARGV: base, channel, nodeId, generation. Ends a restore: removes the
-- node's memberships that the snapshot (written with this generation) lacks.
-- Returns them, flat {connectionId, topic, meta, ...}.
local channel, node, gen = ARGV[2], ARGV[3], ARGV[4]
local index = base .. 'n:' .. node
local entries = redis.call('HGETALL', index)
local changed = {}
local removed = {}
for i = 1, #entries, 2 do
  if entries[i + 1] ~= gen then
    local field = entries[i]
    local at = string.find(field, SEP, 1, true)
    local conn, topic = string.sub(field, 1, at - 1), string.sub(field, at + 1)
    local mkey = base .. 'm:' .. topic
    local meta = redis.call('HGET', mkey, node .. SEP .. conn)
    if meta then
      redis.call('HDEL', mkey, node .. SEP .. conn)
      changed[topic] = true
      removed[#removed + 1] = conn
      removed[#removed + 1] = topic
      removed[#removed + 1] = meta
    end
    redis.call('HDEL', index, field)
  end
end
announce(changed, channel)
return removed
