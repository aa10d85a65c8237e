-- KEYS: members, version of one topic.
-- ARGV: channel, topic, origin, nodeId, generation, then operations in
-- order, 3 values each: kind ('a' add | 'r' remove), connectionId, meta
-- ('' for removes). The joins and leaves of one node in one event-loop turn,
-- announced once. Returns {count, version, changed (0|1) per operation}.
local mkey, vkey = KEYS[1], KEYS[2]
local channel, topic, origin, node, gen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local flags = {}
local any = false
for i = 6, #ARGV, 3 do
  local field = node .. SEP .. ARGV[i + 1]
  local flag
  if ARGV[i] == 'a' then
    flag = redis.call('HSET', mkey, field, gen .. SEP .. ARGV[i + 2])
  else
    flag = redis.call('HDEL', mkey, field)
  end
  flags[#flags + 1] = flag
  if flag == 1 then any = true end
end
return topic_reply(any, mkey, vkey, channel, topic, origin, flags)
