-- KEYS: members, version of one topic. Returns {count, version}: O(1).
return { redis.call('HLEN', KEYS[1]), string.format('%d', current_version(KEYS[2])) }
