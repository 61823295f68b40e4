--[[
  Checks some agents' loads against their task sets: the queued and running counts
  (ws:{ns}:loads:queued and :running) must equal the sizes of the agent's queued and running
  sets. The task scripts change both in one step (includes/agentLoads.lua), so a difference is
  drift from outside them (a hand edit, a namespace written before the counts existed): it is
  overwritten with the sets' sizes and counted. Folding plays no part: nothing waits for the
  event stream. The caller names the agents (a maintenance pass's share), so that one call
  costs its share, not the whole fleet.

  Load and set keys are derived from ARGV[1] (all keys share the namespace's hash tag).

  KEYS[1] agents set     ws:{ns}:agents (an id not in it is left alone: removal cleans up after it)
  KEYS[2] metrics hash   ws:{ns}:metrics

  ARGV[1] key prefix     ws:{ns}:
  ARGV[2..] agent ids to check

  Returns the number of counts corrected
]]
local agentsKey, metricsKey = KEYS[1], KEYS[2]
local prefix = ARGV[1]

local corrected = 0
for i = 2, #ARGV do
  local agent = ARGV[i]
  if redis.call('SISMEMBER', agentsKey, agent) == 1 then
    for _, state in ipairs({'queued', 'running'}) do
      local truth = redis.call('SCARD', prefix .. 'agent:' .. agent .. ':' .. state)
      local loadsKey = prefix .. 'loads:' .. state
      if tonumber(redis.call('ZSCORE', loadsKey, agent) or '0') ~= truth then
        redis.call('ZADD', loadsKey, truth, agent)
        corrected = corrected + 1
      end
    end
  end
end
if corrected > 0 then redis.call('HINCRBY', metricsKey, 'reconciler.workload_corrections', corrected) end
return corrected
