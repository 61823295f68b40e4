--[[
  Takes the leader lease if nobody holds it, or extends it for its holder. Every new leadership
  takes the next fence: whatever an older leader wrote carries a lower fence and is refused.

  KEYS[1] lease hash      ws:{ns}:leader   {holder, token, fence, acquiredAt}, expires with the lease
  KEYS[2] fence counter   ws:{ns}:fence

  ARGV[1] replica id
  ARGV[2] lease ttl, ms
  ARGV[3] token of this process start (random)

  Returns {1, fence, ttl} when this replica holds the lease (new or extended),
          {0, holder, remaining ttl ms} when another does.
]]
--- @include "redisNow"
local leaseKey, fenceKey = KEYS[1], KEYS[2]
local replica, ttl, token = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local lease = redis.call('HMGET', leaseKey, 'holder', 'token')
local holder = lease[1]
if holder and lease[2] == token then
  redis.call('PEXPIRE', leaseKey, ttl)
  return {1, tonumber(redis.call('HGET', leaseKey, 'fence')), ttl}
end
if holder then
  return {0, holder, redis.call('PTTL', leaseKey)}
end

local now = redisNow()
local fence = redis.call('INCR', fenceKey)
redis.call('HSET', leaseKey, 'holder', replica, 'token', token, 'fence', fence, 'acquiredAt', now)
redis.call('PEXPIRE', leaseKey, ttl)
return {1, fence, ttl}
