-- ARGV: base, channel, nodeId, connectionId, topic...
-- Returns {removed (0|1), count, version} for each topic, flattened.
local channel, node, conn = ARGV[2], ARGV[3], ARGV[4]
local removed = {}
local changed = {}
for i = 5, #ARGV do
  local topic = ARGV[i]
  removed[i] = redis.call('HDEL', base .. 'm:' .. topic, node .. SEP .. conn)
  redis.call('HDEL', base .. 'n:' .. node, conn .. SEP .. topic)
  if removed[i] == 1 then changed[topic] = true end
end
local flat = announce(changed, channel)
local fresh = {}
for j = 1, #flat, 3 do fresh[flat[j]] = { flat[j + 1], flat[j + 2] } end
local out = {}
for i = 5, #ARGV do
  local now = fresh[ARGV[i]] or { redis.call('HLEN', base .. 'm:' .. ARGV[i]), current_version(ARGV[i]) }
  out[#out + 1] = removed[i]
  out[#out + 1] = now[1]
  out[#out + 1] = now[2]
end
return out
