-- KEYS: meta (hash: epoch, top) of one topic. ARGV: candidate epoch, window ms.
-- Returns {top, epoch}, creating the history at offset 0 under the candidate
-- epoch if the topic has none (it expires with the window unless appended to).
local meta = KEYS[1]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
  redis.call('PEXPIRE', meta, ARGV[2])
end
return { tonumber(redis.call('HGET', meta, 'top')), epoch }
