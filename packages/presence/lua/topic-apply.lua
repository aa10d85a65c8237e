-- KEYS: members, version, users of one topic.
-- ARGV: channel, topic, origin, nodeId, generation, then operations in
-- order, 4 values each: kind ('a' add | 'r' remove), connectionId, meta
-- ('' for removes), user ('' for anonymous; ignored for removes, whose user
-- is read from the member's value). The joins and leaves of one node in one
-- event-loop turn, announced once. Returns {count, version, changed (0|1)
-- per operation}.
local mkey, vkey, ukey = KEYS[1], KEYS[2], KEYS[3]
local channel, topic, origin, node, gen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local flags = {}
local any = false
for i = 6, #ARGV, 4 do
  local field = node .. SEP .. ARGV[i + 1]
  local old = redis.call('HGET', mkey, field)
  local was = nil
  if old then
    local _, user = parse_value(old)
    was = user
  end
  local flag = 0
  if ARGV[i] == 'a' then
    local user = ARGV[i + 3]
    redis.call('HSET', mkey, field, member_value(gen, user, ARGV[i + 2]))
    if not old then flag = 1 end
    -- A rewrite (a restore) of the same user changes no count.
    if was ~= user then
      count_user(ukey, was, -1)
      count_user(ukey, user, 1)
    end
  elseif old then
    redis.call('HDEL', mkey, field)
    count_user(ukey, was, -1)
    flag = 1
  end
  flags[#flags + 1] = flag
  if flag == 1 then any = true end
end
return topic_reply(any, mkey, vkey, channel, topic, origin, flags)
