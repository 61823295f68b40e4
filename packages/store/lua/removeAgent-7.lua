--[[
  Forgets an agent that is gone: deletes its hash, its queued and running sets and its folded
  workload, and drops it from the agents set and from the fleet's loads (ws:{ns}:loads:queued,
  :running and :changed, derived from KEYS[6]). It refuses while the agent may still matter: a
  heartbeat newer than ARGV[2], a task in its sets, or a job waiting or active in its BullMQ queue
  (the caller obliterates that queue after a removal).

  Folding must not bring the workload hash back: an event about the agent still to be folded
  would recreate it. Every such event was appended before the agent held no more task, so the
  first call that finds the agent removable marks it with the stream's last id (and its
  heartbeat, so that an agent that came back and died again is marked anew), and the agent is
  removed once the fold cursor has reached that mark: at once on a quiet
  stream, on a later call otherwise.

  BullMQ keys are derived from ARGV[3] (all keys share the namespace's hash tag).

  KEYS[1] agent hash            ws:{ns}:agent:<id>
  KEYS[2] agents set            ws:{ns}:agents
  KEYS[3] agent's queued set    ws:{ns}:agent:<id>:queued
  KEYS[4] agent's running set   ws:{ns}:agent:<id>:running
  KEYS[5] agent's workload      ws:{ns}:workload:<id>
  KEYS[6] event stream          ws:{ns}:events
  KEYS[7] fold cursor           ws:{ns}:fold

  ARGV[1] agent id
  ARGV[2] minimum heartbeat age (ms, Redis clock) of an agent that may be removed
  ARGV[3] its BullMQ queue's key prefix   ws:{ns}:q:agent.<id>:

  Returns {1} when removed;
          {0} when marked or still waiting for the fold to reach the mark;
          {-5} when the agent is not registered;
          {-20, heartbeat age ms} when its heartbeat is too recent;
          {-21, queued, running} when it holds tasks;
          {-22, jobs} when its BullMQ queue still has jobs waiting or active
]]
--- @include "redisNow"
--- @include "streamIds"
local agentKey, agentsKey, queuedKey, runningKey, workloadKey, streamKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local cursorKey = KEYS[7]
local agentId, minAge, bull = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local heartbeat = redis.call('HGET', agentKey, 'lastHeartbeat')
if heartbeat == false and redis.call('SISMEMBER', agentsKey, agentId) == 0 then return {-5} end
local now = redisNow()
local age = now - tonumber(heartbeat or '0')
if age < minAge then return {-20, age} end

local queued, running = redis.call('SCARD', queuedKey), redis.call('SCARD', runningKey)
if queued + running > 0 then return {-21, queued, running} end
local jobs = redis.call('LLEN', bull .. 'wait') + redis.call('LLEN', bull .. 'active') + redis.call('LLEN', bull .. 'paused')
  + redis.call('ZCARD', bull .. 'prioritized') + redis.call('ZCARD', bull .. 'delayed')
if jobs > 0 then return {-22, jobs} end


local mark
if redis.call('EXISTS', streamKey) == 1 then
  local info = redis.call('XINFO', 'STREAM', streamKey)
  local last
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
  local marked = redis.call('HMGET', agentKey, 'removableAfter', 'removableHeartbeat')
  if marked[1] and marked[2] == (heartbeat or '') then
    mark = marked[1]
  else
    mark = last
    redis.call('HSET', agentKey, 'removableAfter', mark, 'removableHeartbeat', heartbeat or '')
  end
  -- Folded up to the mark: the cursor stands at it or past it.
  local folded = redis.call('HGET', cursorKey, 'id')
  if not folded or streamIdBefore(parseStreamId(folded), parseStreamId(mark)) then return {0} end
end

redis.call('DEL', agentKey, queuedKey, runningKey, workloadKey)
redis.call('SREM', agentsKey, agentId)
-- Its counts (0: it holds no task) leave the fleet's loads (includes/agentLoads.lua).
local prefix = string.sub(streamKey, 1, #streamKey - #'events')
redis.call('ZREM', prefix .. 'loads:queued', agentId)
redis.call('ZREM', prefix .. 'loads:running', agentId)
redis.call('ZREM', prefix .. 'loads:changed', agentId)
return {1}
