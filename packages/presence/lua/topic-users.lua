-- KEYS: members, version, users of one topic. Returns {count, version,
-- distinct users}: one atomic O(1) read, so the two figures agree.
return { redis.call('HLEN', KEYS[1]), string.format('%d', current_version(KEYS[2])), distinct_users(KEYS[3]) }
