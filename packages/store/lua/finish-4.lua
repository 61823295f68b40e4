--[[
  Ends one run of a task: completed, failed for good, or failed with a retry to come (then the
  task is queued again on the same owner, and BullMQ re-delivers the job). A retry of a task that
  has used all of its attempts (every claim counts, see claim-5.lua) is final. Only the owner at
  the claimed epoch, while the task runs, may finish it.

  KEYS[1] task record hash   ws:{ns}:task:<id>
  KEYS[2] event stream       ws:{ns}:events
  KEYS[3] agent's queued set  ws:{ns}:agent:<id>:queued
  KEYS[4] agent's running set ws:{ns}:agent:<id>:running

  ARGV[1] task id
  ARGV[2] agent id
  ARGV[3] epoch carried by the job
  ARGV[4] outcome: 'completed' | 'failed' (for good) | 'retry' (if attempts are left)
  ARGV[5] result (JSON) when completed, error message otherwise
  ARGV[6] retention, ms: a finished task's record expires this long after it finished
  ARGV[7] retry delay, ms (a retry's backoff: the task's runAt becomes now plus this), or ''

  A task whose cancel was asked for while it ran ends `cancelled`, whatever the outcome.

  The event of the task's first finished run carries the wait of its first start (`waitMs`, from
  the record: claim-5.lua wrote it), so that the fold observes each task's wait once.
  Keeps the agent's load (includes/agentLoads.lua: keys derived from KEYS[2]).
  Every event it appends is marked in the task's record (field 'ev:<stream id>').
  Returns {the run's duration in ms (measured on the Redis clock), 1 when the task is now
  finished for good, else 0, its state now}, or
    -1 task not found   -2 stale (owner or epoch differ)   -4 task is not running
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "redisNow"
--- @include "firstWait"
local taskKey, streamKey = KEYS[1], KEYS[2]
local taskId, agentId, epoch, outcome, detail = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]

local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state', 'startedAt', 'type', 'attempts', 'maxAttempts',
  'finishedRuns', 'cancelRequestedAt', 'waitMs')
if rec[3] == false then return -1 end
if rec[1] ~= agentId or tonumber(rec[2]) ~= epoch then return -2 end
if rec[3] ~= 'running' then return -4 end

local now = redisNow()
local duration = math.max(0, now - tonumber(rec[4]))
local prefix = namespacePrefix(streamKey, 'events')
leaveLoad(prefix, KEYS[4], agentId, 'running', taskId, now)

-- At most n bytes, cut before a UTF-8 continuation byte so that the event stays valid UTF-8.
local function cut(s, n)
  if #s <= n then return s end
  while n > 0 and string.byte(s, n + 1) >= 128 and string.byte(s, n + 1) < 192 do n = n - 1 end
  return string.sub(s, 1, n)
end
local final = 1
-- The record's change, written with the event's marker in one HSET at the end.
local record = {'finishedRuns', (tonumber(rec[8]) or 0) + 1, 'updatedAt', now}
local event
-- The state written, returned as it is (not read back).
local state

if rec[9] then
  state = 'cancelled'
  table.insert(record, 'finishedAt'); table.insert(record, now)
  event = {
    kind = 'task:cancelled', taskId = taskId, agentId = agentId, fromState = 'running', epoch = epoch, at = now }
elseif outcome == 'completed' then
  state = 'done'
  table.insert(record, 'result'); table.insert(record, detail)
  table.insert(record, 'finishedAt'); table.insert(record, now)
  event = {
    kind = 'task:completed', taskId = taskId, agentId = agentId, taskType = rec[5],
    epoch = epoch, durationMs = duration, at = now }
else
  table.insert(record, 'error'); table.insert(record, detail)
  if outcome == 'failed' or (tonumber(rec[6]) or 0) >= (tonumber(rec[7]) or 1) then
    state = 'failed'
    table.insert(record, 'finishedAt'); table.insert(record, now)
  else
    final = 0
    state = 'queued'
    table.insert(record, 'runAt'); table.insert(record, now + (tonumber(ARGV[7]) or 0))
    enterLoad(prefix, KEYS[3], agentId, 'queued', taskId, now)
  end
  event = {
    kind = 'task:failed', taskId = taskId, agentId = agentId, taskType = rec[5], epoch = epoch,
    durationMs = duration, final = (final == 1), error = cut(detail, 2000), at = now }
end
-- On the event of its first finished run only: each task's wait is observed once, when that run ends.
event.waitMs = firstWait(rec[10], rec[8])
table.insert(record, 'state'); table.insert(record, state)
table.insert(record, appendTaskEvent(streamKey, event))
table.insert(record, 1)
redis.call('HSET', taskKey, unpack(record))
if final == 1 then redis.call('PEXPIRE', taskKey, ARGV[6]) end
return {duration, final, state}
