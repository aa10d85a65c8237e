-- ARGV: base, channel, nodeId, generation. Ends a restore: removes the
-- node's memberships that the snapshot (written with this generation) lacks.
local channel, node, gen = ARGV[2], ARGV[3], ARGV[4]
local index = base .. 'n:' .. node
local entries = redis.call('HGETALL', index)
local changed = {}
for i = 1, #entries, 2 do
  if entries[i + 1] ~= gen then
    local field = entries[i]
    local at = string.find(field, SEP, 1, true)
    local conn, topic = string.sub(field, 1, at - 1), string.sub(field, at + 1)
    if redis.call('HDEL', base .. 'm:' .. topic, node .. SEP .. conn) == 1 then
      changed[topic] = true
    end
    redis.call('HDEL', index, field)
  end
end
announce(changed, channel)
return 1
