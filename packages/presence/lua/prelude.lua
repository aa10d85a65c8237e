-- Shared by every presence script. Every key a script touches is in KEYS
-- (Redis Cluster routes a script by them); key names are built in
-- src/presence-keys.ts.
local SEP = '\31'

-- The Redis server clock: one clock for every node's liveness and versions.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function now_ms()
  return math.floor(now_us() / 1000)
end

-- How long an empty topic keeps its version key: long enough that a version
-- seeded from the clock afterwards is larger than any the topic reached.
local EMPTY_VERSION_TTL_MS = 60000

-- The topic's current version: its last change's, or the clock for a topic
-- nobody changed lately (any later change gets a larger one).
local function current_version(vkey)
  local v = redis.call('GET', vkey)
  if v then return tonumber(v) end
  return now_us()
end

-- Versions of a topic only grow: the clock in microseconds, or one more than
-- the last when changes outrun the clock. Also across a restart that lost the
-- key, and across a failover that lost the last writes (a promotion takes
-- seconds; masters' clocks agree far better than that).
local function next_version(vkey)
  local last = tonumber(redis.call('GET', vkey) or '0')
  local v = now_us()
  if v <= last then v = last + 1 end
  return v
end

-- Bumps the topic's version, publishes {topic, count, "version", origin} on
-- its sharded count channel, and returns count, version. An empty topic's
-- version key lingers EMPTY_VERSION_TTL_MS, then nothing of it is left.
local function announce(mkey, vkey, channel, topic, origin)
  local count = redis.call('HLEN', mkey)
  local version = next_version(vkey)
  local text = string.format('%d', version)
  if count == 0 then
    redis.call('SET', vkey, text, 'PX', EMPTY_VERSION_TTL_MS)
  else
    redis.call('SET', vkey, text)
  end
  redis.call('SPUBLISH', channel, cjson.encode({ topic, count, text, origin }))
  return count, version
end

-- A member's value: generation SEP <byte length of user> SEP user meta, user
-- '' for an anonymous connection. The length comes first because a user id
-- (a token's sub) may hold any character, SEP included. Returns generation,
-- user, meta; user is nil for a value written before users were counted
-- (generation SEP meta: a JSON meta never holds a raw SEP), which no user
-- count includes.
local function parse_value(value)
  local a = string.find(value, SEP, 1, true)
  if a == nil then return value, nil, '' end
  local gen = string.sub(value, 1, a - 1)
  local b = string.find(value, SEP, a + 1, true)
  local n = b and tonumber(string.sub(value, a + 1, b - 1))
  if n == nil then return gen, nil, string.sub(value, a + 1) end
  return gen, string.sub(value, b + 1, b + n), string.sub(value, b + n + 1)
end

local function member_value(gen, user, meta)
  return gen .. SEP .. string.format('%d', #user) .. SEP .. user .. meta
end

-- The topic's users hash (KEYS' users key): user → that user's connections
-- in the topic, '' counting the anonymous ones (a sub is never empty). Only
-- the scripts that write the members hash write it, in the same call, so the
-- two always agree; a field is deleted at 0, so the hash is gone with the
-- topic's last member, as the members hash is.
local function count_user(ukey, user, delta)
  if user == nil then return end
  if redis.call('HINCRBY', ukey, user, delta) <= 0 then redis.call('HDEL', ukey, user) end
end

-- Distinct users: every named user once, every anonymous connection once.
local function distinct_users(ukey)
  local n = redis.call('HLEN', ukey)
  local anonymous = tonumber(redis.call('HGET', ukey, '') or '0')
  if anonymous > 0 then n = n - 1 + anonymous end
  return n
end

-- A topic script's reply: {count, "version", details...}, announcing first
-- when the script changed the topic (else the current count and version).
local function topic_reply(changed, mkey, vkey, channel, topic, origin, details)
  local count, version
  if changed then
    count, version = announce(mkey, vkey, channel, topic, origin)
  else
    count, version = redis.call('HLEN', mkey), current_version(vkey)
  end
  local out = { count, string.format('%d', version) }
  for k = 1, #details do out[#out + 1] = details[k] end
  return out
end
