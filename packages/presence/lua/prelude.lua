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

-- The generation a member's value was written with.
local function generation_of(value)
  local at = string.find(value, SEP, 1, true)
  if at == nil then return value end
  return string.sub(value, 1, at - 1)
end

local function meta_of(value)
  local at = string.find(value, SEP, 1, true)
  if at == nil then return '' end
  return string.sub(value, at + 1)
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
