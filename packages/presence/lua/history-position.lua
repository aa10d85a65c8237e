-- KEYS: meta (hash: epoch, top), stream of one topic. ARGV: candidate epoch, window ms.
-- Returns {top, epoch, tag of the entry at top ('' at offset 0 or if it is
-- gone)}, creating the history at offset 0 under the candidate epoch if the
-- topic has none (it expires with the window unless appended to).
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
  redis.call('PEXPIRE', meta, ARGV[2])
end
local top = tonumber(redis.call('HGET', meta, 'top'))
local tag = ''
if top > 0 then
  local id = string.format('%d-1', top)
  local entry = redis.call('XRANGE', stream, id, id)[1]
  if entry then tag = entry[2][2] end
end
return { top, epoch, tag }
