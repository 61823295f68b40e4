--[[
  An agent's heartbeat: refreshes its liveness on the Redis clock (so agents' clocks never
  matter) in its hash and in the fleet's heartbeat sorted set, and writes its cpu and memory
  figures into its hash. It appends no event: a heartbeat only refreshes what the hash and the
  sorted set hold, and 10,000 agents would otherwise append 10,000 events every 2 s for the
  coordinators to fold. (The protocol still parses `agent:heartbeat` and `agent:metrics`, which
  agents of earlier versions append.)

  KEYS[1] agent hash         ws:{ns}:agent:<id>
  KEYS[2] heartbeats zset    ws:{ns}:heartbeats   (agent id -> last heartbeat, ms)

  ARGV[1] agent id
  ARGV[2] cpu percent (0..100)
  ARGV[3] memory MB

  Returns {heartbeat time (ms, Redis clock), the agent's status (alive | draining | drained)},
  or -5 when the agent was never registered
]]
--- @include "redisNow"
local agentKey, heartbeatsKey = KEYS[1], KEYS[2]
local agentId = ARGV[1]
if redis.call('EXISTS', agentKey) == 0 then return -5 end

local now = redisNow()
redis.call('HSET', agentKey, 'lastHeartbeat', now, 'cpu', ARGV[2], 'memoryMb', ARGV[3], 'metricsAt', now)
redis.call('ZADD', heartbeatsKey, now, agentId)
return {now, redis.call('HGET', agentKey, 'status') or 'alive'}
