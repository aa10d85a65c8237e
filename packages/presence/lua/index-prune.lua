-- KEYS: a node's index. ARGV: (field, generation) pairs: deletes each field
-- still holding that generation (a newer restore's entries stay).
local index = KEYS[1]
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', index, ARGV[i]) == ARGV[i + 1] then
    n = n + redis.call('HDEL', index, ARGV[i])
  end
end
return n
