--[[
  The fold lease: one replica folds at a time, so that replicas do not read and send the same
  entries only for all but one to be refused by the fold's compare-and-set (fold-4.lua). The lease
  is an optimisation, not a guard: exactness comes from the cursor. Takes the lease when nobody
  holds it, extends it for its holder, or gives it up (ARGV[2] = 0) when this replica holds it.

  KEYS[1] fold lease   ws:{ns}:fold:lease

  ARGV[1] replica id
  ARGV[2] lease ttl, ms; 0 gives the lease up

  Returns {1 when the replica holds the lease now else 0, ms left of another holder's lease}
]]
local leaseKey, replica, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local holder = redis.call('GET', leaseKey)
if ttl == 0 then
  if holder == replica then redis.call('DEL', leaseKey) end
  return {0, 0}
end
if holder == false or holder == replica then
  redis.call('SET', leaseKey, replica, 'PX', ttl)
  return {1, 0}
end
return {0, redis.call('PTTL', leaseKey)}
