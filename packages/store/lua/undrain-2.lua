--[[
  Takes a draining or drained agent back: it is alive again, may be given tasks, and starts
  taking jobs from its queue at its next heartbeat. Undraining an alive agent changes nothing.

  KEYS[1] agent hash          ws:{ns}:agent:<id>
  KEYS[2] agent changes zset  ws:{ns}:agent-changes   (agent id -> number of its latest change)

  ARGV[1] agent id

  Returns 1 when the agent is now alive, or -5 when it was never registered
]]
--- @include "agentChanged"
local status = redis.call('HGET', KEYS[1], 'status')
if status == false then return -5 end
if status ~= 'alive' then
  redis.call('HSET', KEYS[1], 'status', 'alive')
  agentChanged(KEYS[2], ARGV[1])
end
return 1
