-- ARGV: base, channel, nodeId, generation, then operations in order, each
-- 4 values: kind ('a' add | 'r' remove), connectionId, topic, meta ('' for removes).
-- Several joins and leaves of one node (those issued in one event-loop turn)
-- in one call, announced with one PUBLISH.
-- Returns {changed (0|1), count, version} per operation, flattened.
local channel, node, gen = ARGV[2], ARGV[3], ARGV[4]
local index = base .. 'n:' .. node
local changedFlags = {}
local changed = {}
for i = 5, #ARGV, 4 do
  local kind, conn, topic = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local mkey = base .. 'm:' .. topic
  local flag
  if kind == 'a' then
    flag = redis.call('HSET', mkey, node .. SEP .. conn, ARGV[i + 3])
    redis.call('HSET', index, conn .. SEP .. topic, gen)
  else
    flag = redis.call('HDEL', mkey, node .. SEP .. conn)
    redis.call('HDEL', index, conn .. SEP .. topic)
  end
  changedFlags[#changedFlags + 1] = flag
  if flag == 1 then changed[topic] = true end
end
local flat = announce(changed, channel)
local fresh = {}
for j = 1, #flat, 3 do fresh[flat[j]] = { flat[j + 1], flat[j + 2] } end
local out = {}
for k = 1, #changedFlags do
  local topic = ARGV[5 + (k - 1) * 4 + 2]
  local now = fresh[topic] or { redis.call('HLEN', base .. 'm:' .. topic), current_version(topic) }
  out[#out + 1] = changedFlags[k]
  out[#out + 1] = now[1]
  out[#out + 1] = now[2]
end
return out
