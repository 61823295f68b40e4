--[[
  A draining agent reports itself drained once nothing is queued on it and it runs nothing.

  KEYS[1] agent hash            ws:{ns}:agent:<id>
  KEYS[2] agent's queued set    ws:{ns}:agent:<id>:queued
  KEYS[3] agent's running set   ws:{ns}:agent:<id>:running
  KEYS[4] agent changes zset    ws:{ns}:agent-changes   (agent id -> number of its latest change)

  ARGV[1] agent id

  Returns 1 when the agent is now drained, 0 when it still holds tasks, -14 (an answer, not a
  refusal) when it is neither draining nor drained (undrained meanwhile, or never asked to drain)
]]
--- @include "agentChanged"
local agentKey, queuedKey, runningKey, changesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local status = redis.call('HGET', agentKey, 'status')
if status == 'drained' then return 1 end
if status ~= 'draining' then return -14 end
if redis.call('SCARD', queuedKey) > 0 or redis.call('SCARD', runningKey) > 0 then return 0 end
redis.call('HSET', agentKey, 'status', 'drained')
agentChanged(changesKey, ARGV[1])
return 1
