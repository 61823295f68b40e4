--[[
  Corrects drift in the folded workloads: when no task event is left to fold (none undelivered
  to the group, none pending in it), each agent's folded queued and running counters must equal
  the sizes of its queued and running sets, which the task scripts keep exact. Any difference is
  drift (a lost or doubled effect, a hand edit): it is overwritten with the truth and counted.
  While task events are still being folded, the counters may lag and nothing is touched.

  Workload hashes are derived from ARGV[2] (all keys share the namespace's hash tag).

  KEYS[1] event stream   ws:{ns}:events
  KEYS[2] agents set     ws:{ns}:agents
  KEYS[3] metrics hash   ws:{ns}:metrics

  ARGV[1] consumer group
  ARGV[2] key prefix     ws:{ns}:

  Returns the number of counters corrected, or -9 while task events are still to be folded
]]
--- @include "groupProgress"
local streamKey, agentsKey, metricsKey = KEYS[1], KEYS[2], KEYS[3]
local group, prefix = ARGV[1], ARGV[2]

-- Quiet enough: no task event is still to be folded. Agent heartbeats and metrics arrive all
-- the time and change no counter compared here, so they do not count.
local LOOKAHEAD = 1000
local function hasTaskEvent(entries)
  for _, entry in ipairs(entries) do
    for i = 2, #entry[2], 2 do
      if string.find(entry[2][i], '"kind"%s*:%s*"task:') then return true end
    end
  end
  return false
end
if redis.call('EXISTS', streamKey) == 1 then
  local lastDelivered, pending = groupProgress(streamKey, group)
  if lastDelivered == nil then return -9 end
  local undelivered = redis.call('XRANGE', streamKey, '(' .. lastDelivered, '+', 'COUNT', LOOKAHEAD)
  if #undelivered >= LOOKAHEAD or hasTaskEvent(undelivered) then return -9 end
  if pending > 0 then
    if pending >= LOOKAHEAD then return -9 end
    for _, p in ipairs(redis.call('XPENDING', streamKey, group, '-', '+', LOOKAHEAD)) do
      if hasTaskEvent(redis.call('XRANGE', streamKey, p[1], p[1])) then return -9 end
    end
  end
end

local corrected = 0
for _, agent in ipairs(redis.call('SMEMBERS', agentsKey)) do
  local workloadKey = prefix .. 'workload:' .. agent
  local truth = {
    queued = redis.call('SCARD', prefix .. 'agent:' .. agent .. ':queued'),
    running = redis.call('SCARD', prefix .. 'agent:' .. agent .. ':running'),
  }
  for field, value in pairs(truth) do
    if tonumber(redis.call('HGET', workloadKey, field) or '0') ~= value then
      redis.call('HSET', workloadKey, field, value)
      corrected = corrected + 1
    end
  end
end
if corrected > 0 then redis.call('HINCRBY', metricsKey, 'reconciler.workload_corrections', corrected) end
return corrected
