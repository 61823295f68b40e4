--[[
  Forgets coordinator replicas that are gone, so that restarts under new ids do not pile up:
  registry entries whose heartbeat is older than ARGV[2] (and roles with no heartbeat entry), and
  consumers of the folding group idle longer than ARGV[3] with nothing pending. A consumer with
  pending entries is kept: they are claimed from it first (XAUTOCLAIM), then it is idle and
  empty. Checked and deleted in one script, so a consumer cannot read entries in between and
  lose them with its deletion. A replica pruned by mistake (paused that long) comes back with
  its next heartbeat and read.

  KEYS[1] event stream        ws:{ns}:events
  KEYS[2] replica heartbeats  ws:{ns}:replicas
  KEYS[3] replica roles       ws:{ns}:replica-roles

  ARGV[1] consumer group that folds the stream
  ARGV[2] heartbeat age (ms, Redis clock) past which a replica is forgotten
  ARGV[3] idle time (ms) past which an empty consumer is deleted

  Returns {replicas forgotten, consumers deleted}
]]
--- @include "groupProgress"
--- @include "redisNow"
local streamKey, replicasKey, rolesKey = KEYS[1], KEYS[2], KEYS[3]
local group, maxAge, maxIdle = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

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

local consumers = 0
if redis.call('EXISTS', streamKey) == 1 then
  if groupProgress(streamKey, group) ~= nil then
    for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', streamKey, group)) do
      local fields = {}
      for i = 1, #c, 2 do fields[c[i]] = c[i + 1] end
      if tonumber(fields['pending']) == 0 and tonumber(fields['idle']) > maxIdle then
        redis.call('XGROUP', 'DELCONSUMER', streamKey, group, fields['name'])
        consumers = consumers + 1
      end
    end
  end
end
return {replicas, consumers}
