-- ARGV: base, topic. Returns {count, version}: two O(1) reads.
local topic = ARGV[2]
return { redis.call('HLEN', base .. 'm:' .. topic), current_version(topic) }
