--[[
  Gives a task of a dead or draining agent to another owner, or parks it unassigned when no live
  agent can run it. For a queued task, or a running one whose BullMQ lock has expired (its
  agent died mid-run; nobody else will run the stalled check on that agent's queue). Compares
  the fence (only the leader reaps), the owner, the state and the epoch; bumps the epoch, so any
  job left in the old agent's queue is dropped if that agent ever comes back. The new owner
  must take tasks (registered, alive, not draining). The same reassignment sent again (a replay
  after a reconnect) returns its epoch again while the task still waits where it put it.

  KEYS[1] task record hash                ws:{ns}:task:<id>
  KEYS[2] event stream                    ws:{ns}:events
  KEYS[3] fence counter                   ws:{ns}:fence
  KEYS[4] old owner's set for the state   ws:{ns}:agent:<from>:queued or :running
  KEYS[5] where the task waits next: the new owner's queued set ws:{ns}:agent:<to>:queued,
          or the unassigned tasks zset ws:{ns}:unassigned
  KEYS[6] unassigned tasks zset           ws:{ns}:unassigned
  KEYS[7] new owner's agent hash          ws:{ns}:agent:<to> (when parking, any key: unused)

  ARGV[1] task id
  ARGV[2] old owner
  ARGV[3] new owner, or '' to park the task unassigned
  ARGV[4] expected state: 'queued' | 'running'
  ARGV[5] expected epoch
  ARGV[6] the leader's fence
  ARGV[7] agent TTL, ms

  Keeps both agents' loads and counts the move (includes/agentLoads.lua: keys derived from KEYS[2]).
  Every event it appends is marked in the task's record (field 'ev:<stream id>').
  Deletes the marks of events already folded from a record of 64 fields or more, reading the fold
  cursor ws:{ns}:fold (derived from KEYS[2]): a task moved on and on does not gather marks without
  end (includes/pruneFoldedMarks.lua).
  Returns the new epoch, or
    -1 task not found   -2 owner or epoch changed   -4 not running (expected running)
    -13 not queued (expected queued)   -5 new owner not registered   -7 fence is not current
    -11 new owner not alive (dead, draining or drained)
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "takesTasks"
--- @include "pruneFoldedMarks"

local taskKey, streamKey, fenceKey, fromKey, toKey, unassignedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local taskId, from, to, state, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])

local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state')
if rec[3] == false then return -1 end
if rec[1] == to and tonumber(rec[2]) == expected + 1 and rec[3] == 'queued' then return expected + 1 end

if (redis.call('GET', fenceKey) or '0') ~= ARGV[6] then return -7 end
if rec[1] ~= from or tonumber(rec[2]) ~= expected then return -2 end
if rec[3] ~= state then
  if state == 'queued' then return -13 end
  return -4
end
local now = redisNow()
if to ~= '' then
  local refused = refusesTasks(KEYS[7], ARGV[7], now)
  if refused then return refused end
end

local epoch = expected + 1
local prefix = namespacePrefix(streamKey, 'events')
-- First of the writes: a counter that cannot be incremented (a hand-edited key) changes nothing.
countMove(prefix)
leaveLoad(prefix, fromKey, from, state, taskId, now)
if to == '' then
  redis.call('ZADD', unassignedKey, now, taskId)
else
  enterLoad(prefix, toKey, to, 'queued', taskId, now)
end
pruneFoldedMarks(prefix, taskKey)
local marker = appendTaskEvent(streamKey, {
  kind = 'task:reassigned', taskId = taskId, from = from, to = to, fromState = state,
  epoch = epoch, at = now })
redis.call('HSET', taskKey, 'owner', to, 'epoch', epoch, 'state', 'queued', 'updatedAt', now, marker, 1)
return epoch
