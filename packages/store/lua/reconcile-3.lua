--[[
  Corrects drift in the folded workloads: when the event stream is fully folded (the group has
  delivered its last entry and nothing is pending), each agent's folded queued and running
  counters must equal the sizes of its queued and running sets, which the task scripts keep
  exact. Any difference is drift (a lost or doubled effect, a hand edit): it is overwritten
  with the truth and counted. While events are still being folded, the counters are allowed to
  lag and nothing is touched.

  Workload hashes are derived from ARGV[2] (all keys share the namespace's hash tag).

  KEYS[1] event stream   ws:{ns}:events
  KEYS[2] agents set     ws:{ns}:agents
  KEYS[3] metrics hash   ws:{ns}:metrics

  ARGV[1] consumer group
  ARGV[2] key prefix     ws:{ns}:

  Returns the number of counters corrected, or -9 when the stream is not fully folded yet
]]
local streamKey, agentsKey, metricsKey = KEYS[1], KEYS[2], KEYS[3]
local group, prefix = ARGV[1], ARGV[2]

if redis.call('EXISTS', streamKey) == 1 then
  local stream = redis.call('XINFO', 'STREAM', streamKey)
  local lastId
  for i = 1, #stream, 2 do
    if stream[i] == 'last-generated-id' then lastId = stream[i + 1] end
  end
  local folded = false
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', streamKey)) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    if info['name'] == group then
      folded = info['last-delivered-id'] == lastId and tonumber(info['pending']) == 0
    end
  end
  if not folded then return -9 end
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
