--[[
  Cancels a task. A queued one (on an agent, or waiting unassigned or delayed) is cancelled at
  once: state `cancelled`, epoch bumped (so its job, wherever it is, is dropped at claim as stale,
  and a move racing this one finds the epoch changed), out of every waiting set. A running one
  is marked: its agent aborts the handler's signal when it sees the mark, and `finish` ends it
  `cancelled` whatever the handler returns (a `claim` of it, after its agent died, does too).

  KEYS[1] task record hash        ws:{ns}:task:<id>
  KEYS[2] event stream            ws:{ns}:events
  KEYS[3] the owner's queued set  ws:{ns}:agent:<owner>:queued (without an owner, any key: unused)
  KEYS[4] unassigned tasks zset   ws:{ns}:unassigned
  KEYS[5] delayed tasks zset      ws:{ns}:delayed

  ARGV[1] task id
  ARGV[2] owner the caller read ('' for none): KEYS[3] is its queued set
  ARGV[3] retention, ms: the cancelled record expires this long after

  Keeps the owner's load (includes/agentLoads.lua: keys derived from KEYS[2]).
  Every event it appends is marked in the task's record (field 'ev:<stream id>').
  Returns {'cancelled' | 'cancelling' (running: the mark is set), state before}, or
    -1 task not found   -2 the owner is not ARGV[2] (read again and retry)
    -3 already finished (done or failed)
  A task cancelled already answers {'cancelled', 'cancelled'} and nothing changes: a cancel sent
  again (its answer lost with a connection, and the call retried) answers as the first did.
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "redisNow"
--- @include "firstWait"

local taskKey, streamKey = KEYS[1], KEYS[2]
local taskId, owner = ARGV[1], ARGV[2]

local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state', 'cancelRequestedAt', 'waitMs', 'finishedRuns')
if rec[3] == false then return -1 end
if rec[3] == 'cancelled' then return {'cancelled', 'cancelled'} end
if rec[3] == 'done' or rec[3] == 'failed' then return -3 end
if rec[1] ~= owner then return -2 end

local now = redisNow()
if rec[3] == 'running' then
  if not rec[4] then redis.call('HSET', taskKey, 'cancelRequestedAt', now, 'updatedAt', now) end
  return {'cancelling', 'running'}
end

local epoch = (tonumber(rec[2]) or 0) + 1
if owner == '' then
  redis.call('ZREM', KEYS[4], taskId)
  redis.call('ZREM', KEYS[5], taskId)
else
  leaveLoad(namespacePrefix(streamKey, 'events'), KEYS[3], owner, 'queued', taskId, now)
end
-- A task queued again after its first run was cut off (its agent died) ends here: this event
-- carries that start's wait, which no finished run reported (see finish-4.lua).
local waitMs = firstWait(rec[5], rec[6])
local marker = appendTaskEvent(streamKey, {
  kind = 'task:cancelled', taskId = taskId, agentId = owner, fromState = 'queued', epoch = epoch, waitMs = waitMs, at = now })
-- The mark too: a handler still running it on an agent presumed dead (its task reassigned, then
-- queued here) aborts its signal when that agent polls the record.
redis.call('HSET', taskKey, 'state', 'cancelled', 'epoch', epoch, 'cancelRequestedAt', now, 'finishedAt', now, 'updatedAt', now, marker, 1)
redis.call('PEXPIRE', taskKey, ARGV[3])
return {'cancelled', 'queued'}
