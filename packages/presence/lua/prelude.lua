-- Shared by every presence script. KEYS[1] is the version counter; ARGV[1] the key base.
local base = ARGV[1]
local SEP = '\31'

-- Versions only grow, also across a Redis restart that loses every key: a new
-- counter starts from the server clock in microseconds, above any version the
-- previous one could have reached (unless it averaged > 1 M changes per second).
local function next_version()
  local v = redis.call('INCR', KEYS[1])
  if v == 1 then
    local t = redis.call('TIME')
    v = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', KEYS[1], string.format('%d', v))
  end
  return v
end

-- The Redis server clock in milliseconds: one clock for every node's liveness.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function current_version(topic)
  local v = redis.call('HGET', base .. 'v', topic)
  if v then return tonumber(v) end
  return tonumber(redis.call('GET', KEYS[1]) or '0')
end

-- Bumps the version of every topic in `changed` (a set), returns the flat list
-- {topic, count, version, ...} and publishes it as JSON on `channel`.
local function announce(changed, channel)
  local flat = {}
  local json = {}
  for topic in pairs(changed) do
    local count = redis.call('HLEN', base .. 'm:' .. topic)
    local version = next_version()
    if count == 0 then
      redis.call('HDEL', base .. 'v', topic)
    else
      redis.call('HSET', base .. 'v', topic, string.format('%d', version))
    end
    flat[#flat + 1] = topic
    flat[#flat + 1] = count
    flat[#flat + 1] = version
    json[#json + 1] = { topic, count, string.format('%d', version) }
  end
  if #json > 0 then
    redis.call('PUBLISH', channel, cjson.encode(json))
  end
  return flat
end
