--[[
  Asks an agent to drain: it takes no new task, the leader hands its queue to others, and it
  finishes what it runs. The agent learns it from its next heartbeat (or at once, when it asked
  itself). Draining an agent that is already draining or drained changes nothing.

  KEYS[1] agent hash          ws:{ns}:agent:<id>
  KEYS[2] event stream        ws:{ns}:events
  KEYS[3] agent changes zset  ws:{ns}:agent-changes   (agent id -> number of its latest change)

  ARGV[1] agent id

  Returns 1 when the agent now drains (or already did), or -5 when it was never registered
]]
--- @include "redisNow"
--- @include "agentChanged"
local agentKey, streamKey, changesKey = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', agentKey, 'status')
if status == false then return -5 end
if status == 'draining' or status == 'drained' then return 1 end
local now = redisNow()
redis.call('HSET', agentKey, 'status', 'draining')
agentChanged(changesKey, ARGV[1])
redis.call('XADD', streamKey, '*', 'event', cjson.encode({ kind = 'agent:draining', agentId = ARGV[1], at = now }))
return 1
