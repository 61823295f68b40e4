--[[
  An agent claims a task before running its handler. The owner and epoch must be the agent's
  and the job's: a job left in a queue from before a move carries an old epoch and is dropped
  without running. This script and `move` are the single point of truth for who may run a task.
  Every claim is one attempt, wherever it runs: a run that never finished (its agent died, or
  its finish never reached Redis) counts as much as one that failed. A task that has used all
  of its attempts is not run again: it ends `failed` here, with the reason. A draining or
  drained agent starts nothing new (a job its worker fetched just before the drain is refused
  here; the task stays queued for the leader to hand over); a stalled run it re-takes goes on.

  KEYS[1] task record hash   ws:{ns}:task:<id>
  KEYS[2] event stream       ws:{ns}:events
  KEYS[3] agent's queued set  ws:{ns}:agent:<id>:queued
  KEYS[4] agent's running set ws:{ns}:agent:<id>:running
  KEYS[5] agent hash          ws:{ns}:agent:<id>

  ARGV[1] task id
  ARGV[2] agent id
  ARGV[3] epoch carried by the job
  ARGV[4] retention, ms: a task that ends here expires this long after

  A task whose cancel was asked for while it ran (its agent died, or BullMQ re-delivers it) is
  not run again: it ends `cancelled` here (answer -3).

  Keeps the agent's load (includes/agentLoads.lua: keys derived from KEYS[2]). A start appends no
  event; a first start records its wait from submission (field 'waitMs'), which the event ending
  the task's first finished run carries (finish-4.lua); when the task ends here and no run of it
  finished (its first cut off), the event ending it carries that wait. The events it appends when the task ends
  here (cancelled, attempts used up) are marked in the task's record (field 'ev:<stream id>').
  Returns {attempt, restarted (1 when the same owner re-runs a task it was running: a stalled
  job BullMQ handed out again), type, payload, requiredCapabilities, maxAttempts, timeoutMs or '',
  backoff or ''} (what the handler needs, so that running a task costs no further read), or
    -1 task not found   -2 stale (owner or epoch differ)   -3 task already finished
    -10 attempts used up: the task is now failed   -11 the agent is draining or drained
]]
--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "redisNow"
--- @include "firstWait"

local taskKey, streamKey = KEYS[1], KEYS[2]
local taskId, agentId, epoch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state', 'attempts', 'type', 'payload',
  'requiredCapabilities', 'maxAttempts', 'finishedRuns', 'timeoutMs', 'backoff', 'cancelRequestedAt', 'createdAt', 'waitMs')
if rec[3] == false then return -1 end
if rec[1] ~= agentId or tonumber(rec[2]) ~= epoch then return -2 end
if rec[3] == 'done' or rec[3] == 'failed' or rec[3] == 'cancelled' then return -3 end
local restarted = 0
if rec[3] == 'running' then restarted = 1 end
if restarted == 0 then
  local status = redis.call('HGET', KEYS[5], 'status')
  if status == 'draining' or status == 'drained' then return -11 end
end
local attempts = tonumber(rec[4]) or 0
local maxAttempts = tonumber(rec[8]) or 1
local now = redisNow()
local prefix = namespacePrefix(streamKey, 'events')

-- For an event ending the task here when no run of it has finished (its first was cut off): no
-- other event will carry its wait.
local unreportedWaitMs = firstWait(rec[14], rec[9])

if rec[12] then
  leaveLoad(prefix, KEYS[3], agentId, 'queued', taskId, now)
  leaveLoad(prefix, KEYS[4], agentId, 'running', taskId, now)
  local marker = appendTaskEvent(streamKey, {
    kind = 'task:cancelled', taskId = taskId, agentId = agentId, fromState = rec[3], epoch = epoch,
    waitMs = unreportedWaitMs, at = now })
  redis.call('HSET', taskKey, 'state', 'cancelled', 'finishedAt', now, 'updatedAt', now, marker, 1)
  redis.call('PEXPIRE', taskKey, ARGV[4])
  return -3
end

if attempts >= maxAttempts then
  local unfinished = attempts - (tonumber(rec[9]) or 0)
  local reason = 'gave up after ' .. attempts .. ' attempts'
  if unfinished > 0 then
    reason = reason .. ': agent died while running it ' .. unfinished .. ' times (or its result never reached Redis)'
  end
  leaveLoad(prefix, KEYS[3], agentId, 'queued', taskId, now)
  leaveLoad(prefix, KEYS[4], agentId, 'running', taskId, now)
  local marker = appendTaskEvent(streamKey, {
    kind = 'task:failed', taskId = taskId, agentId = agentId, taskType = rec[5], epoch = epoch,
    durationMs = 0, final = true, error = reason, fromState = rec[3], waitMs = unreportedWaitMs, at = now })
  redis.call('HSET', taskKey, 'state', 'failed', 'error', reason, 'finishedAt', now, 'updatedAt', now, marker, 1)
  redis.call('PEXPIRE', taskKey, ARGV[4])
  return -10
end

local attempt = attempts + 1
leaveLoad(prefix, KEYS[3], agentId, 'queued', taskId, now)
enterLoad(prefix, KEYS[4], agentId, 'running', taskId, now)
-- A start appends no event: the record says the task runs, the load sets count it, and the event
-- that ends the run says what the fold needs of it.
local record = {'state', 'running', 'attempts', attempt, 'startedAt', now, 'updatedAt', now}
-- The wait from submission, on the first start only (a later attempt's would include the earlier
-- runs): kept in the record for the event that ends the task's first finished run (finish-4.lua).
if attempt == 1 and restarted == 0 and rec[13] then
  record[#record + 1] = 'waitMs'
  record[#record + 1] = math.max(0, now - tonumber(rec[13]))
end
redis.call('HSET', taskKey, unpack(record))
return {attempt, restarted, rec[5], rec[6], rec[7], maxAttempts, rec[10] or '', rec[11] or ''}
