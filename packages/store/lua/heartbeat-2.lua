--[[
  An agent's heartbeat: refreshes its liveness on the Redis clock (so agents' clocks never
  matter) and appends `agent:heartbeat` and `agent:metrics`.

  KEYS[1] agent hash     ws:{ns}:agent:<id>
  KEYS[2] event stream   ws:{ns}:events

  ARGV[1] agent id
  ARGV[2] cpu percent (0..100)
  ARGV[3] memory MB

  Returns {heartbeat time (ms, Redis clock), the agent's status (alive | draining | drained)},
  or -5 when the agent was never registered
]]
--- @include "redisNow"
local agentKey, streamKey = KEYS[1], KEYS[2]
local agentId = ARGV[1]
if redis.call('EXISTS', agentKey) == 0 then return -5 end

local now = redisNow()
redis.call('HSET', agentKey, 'lastHeartbeat', now)
redis.call('XADD', streamKey, '*', 'event', cjson.encode({
  kind = 'agent:heartbeat', agentId = agentId, at = now }))
redis.call('XADD', streamKey, '*', 'event', cjson.encode({
  kind = 'agent:metrics', agentId = agentId, cpu = tonumber(ARGV[2]), memoryMb = tonumber(ARGV[3]), at = now }))
return {now, redis.call('HGET', agentKey, 'status') or 'alive'}
