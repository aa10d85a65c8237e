-- KEYS: meta (hash: epoch, top), stream of one topic.
-- ARGV: epoch of the position, its offset, limit.
-- Returns {1, epoch, top, offset, payload, offset, payload, ...} with every
-- entry after the position, or {0, reason}: 'epoch', 'ahead', 'trimmed' or
-- 'too-many' (checked in that order). Never a partial answer.
local meta, stream = KEYS[1], KEYS[2]
local from, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local epoch = redis.call('HGET', meta, 'epoch')
if epoch ~= ARGV[1] then return { 0, 'epoch' } end
local top = tonumber(redis.call('HGET', meta, 'top'))
if from > top then return { 0, 'ahead' } end
if from == top then return { 1, epoch, top } end
-- The oldest entry kept must be the first one wanted or older.
local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if oldest == nil or tonumber(string.match(oldest[1], '^(%d+)')) > from + 1 then return { 0, 'trimmed' } end
if top - from > limit then return { 0, 'too-many' } end
local entries = redis.call('XRANGE', stream, string.format('%d-1', from + 1), '+')
local out = { 1, epoch, top }
local expected = from + 1
for _, entry in ipairs(entries) do
  local offset = tonumber(string.match(entry[1], '^(%d+)'))
  -- Offsets are consecutive by construction; a hole would mean an entry was
  -- removed behind the script's back: refuse rather than answer with a gap.
  if offset ~= expected then return { 0, 'trimmed' } end
  out[#out + 1] = offset
  out[#out + 1] = entry[2][2]
  expected = expected + 1
end
if expected ~= top + 1 then return { 0, 'trimmed' } end
return out
