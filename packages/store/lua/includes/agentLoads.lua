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

-- Stamps the agent's load change, once per script. Called before the set changes, so that a
-- script refused the ZADD (an ACL of an earlier release) fails before its first write here: Redis
-- keeps the writes a script made before a failing command.
local function stampLoad(prefix, agentId, now)
  if not loadsStamped[agentId] then
    redis.call('ZADD', prefix .. 'loads:changed', now, agentId)
    loadsStamped[agentId] = true
  end
end

-- Returns the agent's count now.
local function countLoad(prefix, agentId, state, delta)
  return tonumber(redis.call('ZINCRBY', prefix .. 'loads:' .. state, delta, agentId))
end

-- Puts a task in an agent's queued or running set (state: 'queued' | 'running') and counts it,
-- at `now` (ms, Redis clock). Returns the agent's count in that state now, or nil when the task
-- was in the set already.
local function enterLoad(prefix, setKey, agentId, state, taskId, now)
  stampLoad(prefix, agentId, now)
  if redis.call('SADD', setKey, taskId) == 1 then return countLoad(prefix, agentId, state, 1) end
  return nil
end

-- Whether a task just queued on an agent (`queued`: its queued count now, as enterLoad returned
-- it; `slots`: its concurrency) is announced (`task:assigned`) to the leader's steal trigger: when
-- the agent's backlog, b = queued - max(0, slots - running) (the queued tasks no free slot will
-- take), is a power of two after the enqueue (1, 2, 4, 8, ...). So the task that starts a backlog
-- asks for a round, and so does the backlog as it grows, though with O(log b) events and not one
-- per task: a round that could move nothing when the backlog started (capabilities, a priority
-- veto, minTaskMs, the balanced margin) is asked again once the backlog doubled, not only when a
-- run ends or the steal interval ticks. Running tasks past the slots (an agent restarted under the
-- same id, a concurrency lowered) leave no free slot: max(0, ...) keeps them from hiding a backlog.
local function announcesQueued(prefix, agentId, queued, slots)
  if queued == nil then return false end
  -- The backlog lies in [queued - slots, queued] whatever the running count: when no power of two
  -- does (most submits into a long backlog), the running count need not be read.
  local power = 1
  while power < queued - slots do power = power * 2 end
  if power > queued then return false end
  local running = tonumber(redis.call('ZSCORE', prefix .. 'loads:running', agentId)) or 0
  local backlog = queued - math.max(0, slots - running)
  if backlog < 1 then return false end
  -- A power of two has a single bit set.
  while backlog % 2 == 0 do backlog = backlog / 2 end
  return backlog == 1
end

-- Takes a task out of an agent's queued or running set and counts it.
local function leaveLoad(prefix, setKey, agentId, state, taskId, now)
  stampLoad(prefix, agentId, now)
  if redis.call('SREM', setKey, taskId) == 1 then countLoad(prefix, agentId, state, -1) end
end

-- Counts a task handed from one agent to another (move, reassign) in ws:{ns}:moves: the leader's
-- planner reads it before and after a snapshot, and reads again a snapshot that a move ran across
-- (its counts from before the move beside tails from after it would plan the same share twice).
local function countMove(prefix)
  redis.call('INCR', prefix .. 'moves')
end
