--[[
  Moves one queued task from the source agent to the target for a directive: the single point
  of truth for a steal. Compares the fence (only the current planner's directives act), the
  owner, the state (only queued tasks move: a claimed one is running on the source) and the
  epoch (the one the job in the source's queue carries). Sets the new owner, bumps the epoch,
  records the move in the directive's move log (so a retried directive finishes it instead of
  moving another task) and appends `task:stolen`. The target must take tasks (registered, alive,
  not draining). The same move sent again (ioredis re-sends unanswered commands after a
  reconnect) finds its own transition done and returns its epoch again, so its caller goes on
  to queue the job.

  KEYS[1] task record hash       ws:{ns}:task:<id>
  KEYS[2] event stream           ws:{ns}:events
  KEYS[3] fence counter          ws:{ns}:fence
  KEYS[4] directive's move log   ws:{ns}:steal:<directiveId>:moves  (hash task id -> new epoch)
  KEYS[5] source's queued set    ws:{ns}:agent:<source>:queued
  KEYS[6] target's queued set    ws:{ns}:agent:<target>:queued
  KEYS[7] target's agent hash    ws:{ns}:agent:<target>

  ARGV[1] task id
  ARGV[2] source agent id
  ARGV[3] target agent id
  ARGV[4] expected epoch (carried by the source's job)
  ARGV[5] directive fence
  ARGV[6] directive id
  ARGV[7] move log time-to-live, ms
  ARGV[8] agent TTL, ms (a target whose heartbeat is older is dead)

  Keeps both agents' loads and counts the move (includes/agentLoads.lua: keys derived from KEYS[2]).
  Every event it appends is marked in the task's record (field 'ev:<stream id>').
  Deletes the marks of events already folded from a record of 64 fields or more, reading the fold
  cursor ws:{ns}:fold (derived from KEYS[2]): a task moved on and on does not gather marks without
  end (includes/pruneFoldedMarks.lua).
  Returns the new epoch, or
    -1 task not found   -2 owner or epoch changed   -13 not queued (running or finished)
    -5 target not registered   -7 fence is not the current one (the directive comes from an
    old leader)   -11 target not alive (dead, draining or drained)
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "takesTasks"
--- @include "pruneFoldedMarks"

local taskKey, streamKey, fenceKey, movesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local taskId, source, target = ARGV[1], ARGV[2], ARGV[3]
local expected, fence = tonumber(ARGV[4]), ARGV[5]

local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state')
if rec[3] == false then return -1 end
-- This very move, already made (a replay), and the task still waits on the target: the fence it
-- was made under has nothing left to guard. (Once it runs, a replay must not queue it again.)
if rec[1] == target and tonumber(rec[2]) == expected + 1 and rec[3] == 'queued'
    and redis.call('HGET', movesKey, taskId) == tostring(expected + 1) then
  return expected + 1
end

if (redis.call('GET', fenceKey) or '0') ~= fence then return -7 end
if rec[1] ~= source or tonumber(rec[2]) ~= expected then return -2 end
if rec[3] ~= 'queued' then return -13 end
local now = redisNow()
local refused = refusesTasks(KEYS[7], ARGV[8], now)
if refused then return refused end

local epoch = expected + 1
local prefix = namespacePrefix(streamKey, 'events')
-- First of the writes: a counter that cannot be incremented (a hand-edited key) changes nothing.
countMove(prefix)
redis.call('HSET', movesKey, taskId, epoch)
leaveLoad(prefix, KEYS[5], source, 'queued', taskId, now)
enterLoad(prefix, KEYS[6], target, 'queued', taskId, now)
redis.call('PEXPIRE', movesKey, ARGV[7])
pruneFoldedMarks(prefix, taskKey)
local marker = appendTaskEvent(streamKey, {
  kind = 'task:stolen', taskId = taskId, from = source, to = target, epoch = epoch,
  directiveId = ARGV[6], at = now })
redis.call('HSET', taskKey, 'owner', target, 'epoch', epoch, 'updatedAt', now, marker, 1)
return epoch
