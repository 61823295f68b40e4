-- Records that an agent's profile or status changed: its member in the agent changes sorted set
-- gets the next change number, so a leader that read up to number n re-reads only the agents
-- whose score is above n.
local function agentChanged(changesKey, agentId)
  local last = redis.call('ZREVRANGE', changesKey, 0, 0, 'WITHSCORES')
  local number = 1
  if #last == 2 then number = tonumber(last[2]) + 1 end
  redis.call('ZADD', changesKey, number, agentId)
end
