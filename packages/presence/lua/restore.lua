-- ARGV: base, channel, nodeId, ttlMs, generation, first (1|0), then
-- (connectionId, topic, meta) triples. Writes one chunk of a node's snapshot
-- with the new generation; the first chunk also marks the node alive so no
-- survivor reaps it while the later chunks are on their way.
local channel, node, ttl, gen, first = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if first == '1' then
  redis.call('SET', base .. 'alive:' .. node, '1', 'PX', ttl)
  redis.call('SADD', base .. 'nodes', node)
end
local changed = {}
local index = base .. 'n:' .. node
for i = 7, #ARGV, 3 do
  local conn, topic, meta = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('HSET', base .. 'm:' .. topic, node .. SEP .. conn, meta) == 1 then
    changed[topic] = true
  end
  redis.call('HSET', index, conn .. SEP .. topic, gen)
end
announce(changed, channel)
return 1
