-- ARGV: base, channel, nodeId, connectionId, topic, meta, generation
-- Returns {added (0|1), count, version}.
local channel, node, conn, topic, meta, gen = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local mkey = base .. 'm:' .. topic
local added = redis.call('HSET', mkey, node .. SEP .. conn, meta)
redis.call('HSET', base .. 'n:' .. node, conn .. SEP .. topic, gen)
if added == 1 then
  local flat = announce({ [topic] = true }, channel)
  return { 1, flat[2], flat[3] }
end
return { 0, redis.call('HLEN', mkey), current_version(topic) }
