-- ARGV: base, nodeId, ttlMs. Returns 1 while the node is known, 0 when its
-- liveness key is gone (expired and maybe reaped, or Redis restarted empty).
if redis.call('PEXPIRE', base .. 'alive:' .. ARGV[2], ARGV[3]) == 1 then
  return 1
end
return 0
