--[[
  Checks every agent's load against its task sets: the queued and running counts
  (ws:{ns}:loads:queued and :running, and their copy in the agent's workload hash) must equal
  the sizes of its queued and running sets. The task scripts change both in one step
  (includes/agentLoads.lua), so a difference is drift from outside them (a hand edit, a
  namespace written before the counts existed): it is overwritten with the sets' sizes and
  counted. Folding plays no part: nothing waits for the event stream.

  Load and workload keys are derived from ARGV[1] (all keys share the namespace's hash tag).

  KEYS[1] agents set     ws:{ns}:agents
  KEYS[2] metrics hash   ws:{ns}:metrics

  ARGV[1] key prefix     ws:{ns}:

  Returns the number of counts corrected
]]
local agentsKey, metricsKey = KEYS[1], KEYS[2]
local prefix = ARGV[1]

local corrected = 0
for _, agent in ipairs(redis.call('SMEMBERS', agentsKey)) do
  local workloadKey = prefix .. 'workload:' .. agent
  for _, state in ipairs({'queued', 'running'}) do
    local truth = redis.call('SCARD', prefix .. 'agent:' .. agent .. ':' .. state)
    local loadsKey = prefix .. 'loads:' .. state
    if tonumber(redis.call('ZSCORE', loadsKey, agent) or '0') ~= truth then
      redis.call('ZADD', loadsKey, truth, agent)
      corrected = corrected + 1
    end
    if tonumber(redis.call('HGET', workloadKey, state) or '0') ~= truth then
      redis.call('HSET', workloadKey, state, truth)
      corrected = corrected + 1
    end
  end
end
if corrected > 0 then redis.call('HINCRBY', metricsKey, 'reconciler.workload_corrections', corrected) end
return corrected
