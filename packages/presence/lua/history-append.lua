-- KEYS: meta (hash: epoch, top), stream of one topic (both of its hash tag).
-- ARGV: candidate epoch (random, chosen by the caller), entries kept (the
-- cap + 1: the entry a reader stands on and the cap after it), window ms,
-- publish flag ('1' or '0'), publish channel (the topic's, same slot),
-- payload, tag (random, chosen by the caller).
-- Returns {offset, epoch}.
--
-- One call stores, trims, refreshes the expiry and publishes: one round trip
-- per message, and subscribers see messages in offset order.
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  -- A new history (first append, window passed, or Redis lost the key):
  -- whatever stream is left belongs to no epoch, so it goes.
  epoch = ARGV[1]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
end
local offset = redis.call('HINCRBY', meta, 'top', 1)
-- Exact trim (no '~'): the cap is what since() relies on. An explicit id
-- makes the entry's offset its stream id, so since() reads ranges directly.
-- The tag tells this entry from another that a failover that lost this one
-- would later give the same offset.
redis.call('XADD', stream, 'MAXLEN', ARGV[2], string.format('%d-1', offset), 't', ARGV[7], 'p', ARGV[6])
redis.call('PEXPIRE', meta, ARGV[3])
redis.call('PEXPIRE', stream, ARGV[3])
if ARGV[4] == '1' then
  redis.call('SPUBLISH', ARGV[5], string.format('%d', offset) .. '\31' .. epoch .. '\31' .. ARGV[7] .. '\31' .. ARGV[6])
end
return { offset, epoch }
