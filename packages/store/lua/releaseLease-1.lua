--[[
  Gives the lease up at once (graceful shutdown), so that another replica leads without waiting
  for the TTL. Only the holder at its fence may release it.

  KEYS[1] lease hash   ws:{ns}:leader

  ARGV[1] replica id
  ARGV[2] fence of this leadership

  Returns 1 when released, 0 when this replica did not hold it
]]
local leaseKey = KEYS[1]
local lease = redis.call('HMGET', leaseKey, 'holder', 'fence')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then return 0 end
redis.call('DEL', leaseKey)
return 1
