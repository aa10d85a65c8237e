-- KEYS: members, version, users of one topic.
-- ARGV: channel, topic, origin, nodeId, generation, then operations in
-- order, 5 values each: kind ('a' add | 'r' remove), connectionId, meta
-- ('' for removes), user ('' for anonymous; ignored for removes, whose user
-- is read from the member's value), from (a node id, or '' for nodeId).
-- An add with another node in `from` moves that node's member to nodeId
-- (a connection recovered here): the count does not change and nothing is
-- announced, unless the member was gone (then it is a plain add). A remove
-- with `from` set removes that node's member. The joins and leaves of one
-- node in one event-loop turn, announced once. Returns {count, version,
-- changed (0|1) per operation}: 1 when the connection became a member, or
-- stopped being one.
local mkey, vkey, ukey = KEYS[1], KEYS[2], KEYS[3]
local channel, topic, origin, node, gen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local flags = {}
local any = false

local function user_of(value)
  if not value then return nil end
  local _, user = parse_value(value)
  return user
end

for i = 6, #ARGV, 5 do
  local id, from = ARGV[i + 1], ARGV[i + 4]
  if from == '' then from = node end
  local field = node .. SEP .. id
  local flag = 0
  if ARGV[i] == 'a' then
    local old = redis.call('HGET', mkey, field)
    local was = user_of(old)
    local user = ARGV[i + 3]
    local moved = false
    if from ~= node then
      local source = from .. SEP .. id
      local value = redis.call('HGET', mkey, source)
      if value then
        redis.call('HDEL', mkey, source)
        count_user(ukey, user_of(value), -1)
        moved = true
        -- Both there (never written so): one entry fewer, announced.
        if old then any = true end
      end
    end
    redis.call('HSET', mkey, field, member_value(gen, user, ARGV[i + 2]))
    if not old and not moved then flag = 1 end
    -- A rewrite (a restore) of the same user changes no count.
    if was ~= user then
      count_user(ukey, was, -1)
      count_user(ukey, user, 1)
    end
  else
    local target = from .. SEP .. id
    local old = redis.call('HGET', mkey, target)
    if old then
      redis.call('HDEL', mkey, target)
      count_user(ukey, user_of(old), -1)
      flag = 1
    end
  end
  flags[#flags + 1] = flag
  if flag == 1 then any = true end
end
return topic_reply(any, mkey, vkey, channel, topic, origin, flags)
