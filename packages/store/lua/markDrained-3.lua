--[[
  A draining agent reports itself drained once nothing is queued on it and it runs nothing.

  KEYS[1] agent hash            ws:{ns}:agent:<id>
  KEYS[2] agent's queued set    ws:{ns}:agent:<id>:queued
  KEYS[3] agent's running set   ws:{ns}:agent:<id>:running

  Returns 1 when the agent is now drained, 0 when it still holds tasks, -14 (an answer, not a
  refusal) when it is neither draining nor drained (undrained meanwhile, or never asked to drain)
]]
local agentKey, queuedKey, runningKey = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', agentKey, 'status')
if status == 'drained' then return 1 end
if status ~= 'draining' then return -14 end
if redis.call('SCARD', queuedKey) > 0 or redis.call('SCARD', runningKey) > 0 then return 0 end
redis.call('HSET', agentKey, 'status', 'drained')
return 1
