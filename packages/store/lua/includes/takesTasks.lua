--- @include "redisNow"
-- Whether an agent may be given a task (a placement, a move, a reassignment) or start one: it is
-- registered, neither draining nor drained, and its heartbeat is younger than the agent TTL on
-- the Redis clock (`now`, read once by the caller with redisNow: TIME costs a command). Returns
-- nil and the agent's slots (its concurrency, read in the same HMGET, for includes/agentLoads.lua's
-- announcesQueued) when it may, else the refusal code:
--   -5 the agent was never registered (or was removed)   -11 the agent is not alive
local function refusesTasks(agentKey, agentTtlMs, now)
  local agent = redis.call('HMGET', agentKey, 'status', 'lastHeartbeat', 'concurrency')
  if agent[1] == false then return -5 end
  if agent[1] ~= 'alive' then return -11 end
  if now - (tonumber(agent[2]) or 0) > tonumber(agentTtlMs) then return -11 end
  return nil, tonumber(agent[3]) or 1
end
