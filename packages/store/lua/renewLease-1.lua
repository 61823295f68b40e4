--[[
  Extends the lease, only for the holder at the fence it acquired. A leader that was paused past
  its lease finds another holder (or none) here and must stop acting.

  KEYS[1] lease hash   ws:{ns}:leader

  ARGV[1] replica id
  ARGV[2] fence of this leadership
  ARGV[3] lease ttl, ms

  Returns 1, or -8 when the lease is lost
]]
local leaseKey = KEYS[1]
local lease = redis.call('HMGET', leaseKey, 'holder', 'fence')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then return -8 end
redis.call('PEXPIRE', leaseKey, ARGV[3])
return 1
