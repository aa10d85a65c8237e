-- KEYS: members, version, users of one topic.
-- ARGV: channel, topic, origin, nodeId, then (connectionId, generation)
-- pairs. Removes each member of nodeId whose value was written with that
-- generation (a restore since then wrote a newer one, which stays).
-- Reaping and sweeping go through here one topic at a time: whoever's call
-- removed an entry is the only one told so, so each leave-* is announced
-- once however many survivors reap at the same time.
-- Returns {count, version, removed...}, removed flat {connectionId, meta, ...}.
local mkey, vkey, ukey = KEYS[1], KEYS[2], KEYS[3]
local channel, topic, origin, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local removed = {}
for i = 5, #ARGV, 2 do
  local field = node .. SEP .. ARGV[i]
  local value = redis.call('HGET', mkey, field)
  if value then
    local gen, user, meta = parse_value(value)
    if gen == ARGV[i + 1] then
      redis.call('HDEL', mkey, field)
      count_user(ukey, user, -1)
      removed[#removed + 1] = ARGV[i]
      removed[#removed + 1] = meta
    end
  end
end
return topic_reply(#removed > 0, mkey, vkey, channel, topic, origin, removed)
