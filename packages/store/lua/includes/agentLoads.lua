-- Every agent's queued and running counts: the sorted sets ws:{ns}:loads:queued and
-- ws:{ns}:loads:running (member: agent id, score: tasks), the one source of those figures,
-- read for the whole fleet in one round trip. They change only here, with the agent's queued or
-- running set and by what SADD / SREM actually changed, so they always equal the sets' sizes.
-- Each change also stamps the agent in ws:{ns}:loads:changed (score: `now`, the caller's Redis
-- clock, ms), so that the leader reads again only the loads changed since its last read: most
-- changes (a start, a submit into no backlog) append no event that would say so.
-- Keys are derived from the namespace's prefix (all share its hash tag).

-- The namespace prefix ws:{ns}: of a key named ws:{ns}:<suffix>.
local function namespacePrefix(key, suffix)
  return string.sub(key, 1, #key - #suffix)
end

-- The agents this script stamped already: a claim changes two counts of one agent, one stamp says it.
local loadsStamped = {}

-- Returns the agent's count now.
local function countLoad(prefix, agentId, state, delta, now)
  if not loadsStamped[agentId] then
    redis.call('ZADD', prefix .. 'loads:changed', now, agentId)
    loadsStamped[agentId] = true
  end
  return tonumber(redis.call('ZINCRBY', prefix .. 'loads:' .. state, delta, agentId))
end

-- Puts a task in an agent's queued or running set (state: 'queued' | 'running') and counts it,
-- at `now` (ms, Redis clock). Returns the agent's count in that state now, or nil when the task
-- was in the set already.
local function enterLoad(prefix, setKey, agentId, state, taskId, now)
  if redis.call('SADD', setKey, taskId) == 1 then return countLoad(prefix, agentId, state, 1, now) end
  return nil
end

-- Whether a task just queued on an agent (`queued`: its queued count now, as enterLoad returned
-- it; `slots`: its concurrency) starts a backlog there: the agent's backlog,
-- max(0, queued + running - slots), went from 0 to 1. Only such a task is announced
-- (`task:assigned`) to the leader's steal trigger: one queued into a backlog that exists adds to
-- what a round already heard of, and the runs that end there (task:completed, task:failed) ask
-- for the next round. A queued count past slots + 1 settles it without reading the running count.
local function startsBacklog(prefix, agentId, queued, slots)
  if queued == nil or queued > slots + 1 then return false end
  local running = tonumber(redis.call('ZSCORE', prefix .. 'loads:running', agentId)) or 0
  return queued + running - slots == 1
end

-- Takes a task out of an agent's queued or running set and counts it.
local function leaveLoad(prefix, setKey, agentId, state, taskId, now)
  if redis.call('SREM', setKey, taskId) == 1 then countLoad(prefix, agentId, state, -1, now) end
end

-- Counts a task handed from one agent to another (move, reassign) in ws:{ns}:moves: the leader's
-- planner reads it before and after a snapshot, and reads again a snapshot that a move ran across
-- (its counts from before the move beside tails from after it would plan the same share twice).
local function countMove(prefix)
  redis.call('INCR', prefix .. 'moves')
end
