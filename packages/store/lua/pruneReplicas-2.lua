--[[
  Forgets coordinator replicas that are gone, so that restarts under new ids do not pile up:
  registry entries whose heartbeat is older than ARGV[1], and roles with no heartbeat entry. A
  replica pruned by mistake (paused that long) comes back with its next heartbeat.

  KEYS[1] replica heartbeats  ws:{ns}:replicas
  KEYS[2] replica roles       ws:{ns}:replica-roles

  ARGV[1] heartbeat age (ms, Redis clock) past which a replica is forgotten

  Returns the number of replicas forgotten
]]
--- @include "redisNow"
local replicasKey, rolesKey = KEYS[1], KEYS[2]
local maxAge = tonumber(ARGV[1])

local now = redisNow()

local replicas = 0
local beats = redis.call('HGETALL', replicasKey)
for i = 1, #beats, 2 do
  if now - (tonumber(beats[i + 1]) or 0) > maxAge then
    redis.call('HDEL', replicasKey, beats[i])
    replicas = replicas + 1
  end
end
for _, id in ipairs(redis.call('HKEYS', rolesKey)) do
  if redis.call('HEXISTS', replicasKey, id) == 0 then redis.call('HDEL', rolesKey, id) end
end
return replicas
