-- KEYS: a node's index. ARGV: generation, then (kind, field) pairs in order
-- ('a' writes field → generation, 'r' deletes it). Written before the
-- topics' own calls, so an entry the reaper must find is never missing.
local index, gen = KEYS[1], ARGV[1]
for i = 2, #ARGV, 2 do
  if ARGV[i] == 'a' then
    redis.call('HSET', index, ARGV[i + 1], gen)
  else
    redis.call('HDEL', index, ARGV[i + 1])
  end
end
return 1
