-- KEYS: meta (hash: epoch, top), stream of one topic.
-- ARGV: epoch of the position, its offset, its tag, limit, inclusive ('1':
-- the entry at the position too, so a reader that has not got that entry
-- yet starts there; it must be held and carry the tag).
-- Returns {1, epoch, top, top's tag, offset, tag, payload, offset, tag,
-- payload, ...} with every entry after the position, or {0, reason}:
-- 'epoch', 'ahead', 'trimmed' or 'too-many' (checked in that order). Never a
-- partial answer.
local meta, stream = KEYS[1], KEYS[2]
local from, limit = tonumber(ARGV[2]), tonumber(ARGV[4])
local inclusive = ARGV[5] == '1' and from > 0
local epoch = redis.call('HGET', meta, 'epoch')
if epoch ~= ARGV[1] then return { 0, 'epoch' } end
local top = tonumber(redis.call('HGET', meta, 'top'))
if from > top then return { 0, 'ahead' } end
-- The entry the reader stands on must be the one it has: a failover that
-- lost it may have given its offset to another message since.
local tag = ''
if from > 0 then
  local id = string.format('%d-1', from)
  local entry = redis.call('XRANGE', stream, id, id)[1]
  if entry == nil then
    -- Trimmed by the cap or lost: nothing proves the reader's history is this one.
    return { 0, 'trimmed' }
  end
  if entry[2][2] ~= ARGV[3] then return { 0, 'epoch' } end
  tag = entry[2][2]
end
if from == top and not inclusive then return { 1, epoch, top, tag } end
local first = inclusive and from or from + 1
-- From offset 0: the first entry must still be held.
local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if oldest == nil or tonumber(string.match(oldest[1], '^(%d+)')) > first then return { 0, 'trimmed' } end
if top - first + 1 > limit then return { 0, 'too-many' } end
local entries = redis.call('XRANGE', stream, string.format('%d-1', first), '+')
local out = { 1, epoch, top, '' }
local expected = first
for _, entry in ipairs(entries) do
  local offset = tonumber(string.match(entry[1], '^(%d+)'))
  -- Offsets are consecutive by construction; a hole would mean an entry was
  -- removed behind the script's back: refuse rather than answer with a gap.
  if offset ~= expected then return { 0, 'trimmed' } end
  out[#out + 1] = offset
  out[#out + 1] = entry[2][2]
  out[#out + 1] = entry[2][4]
  tag = entry[2][2]
  expected = expected + 1
end
if expected ~= top + 1 then return { 0, 'trimmed' } end
out[4] = tag
return out
