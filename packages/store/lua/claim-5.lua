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

  The rules live in includes/claimTask.lua (claimMany-4.lua claims several tasks by them).
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
--- @include "redisNow"
--- @include "claimTask"

local function agentStatus()
  return redis.call('HGET', KEYS[5], 'status')
end
return claimTask(KEYS[1], KEYS[2], KEYS[3], KEYS[4], agentStatus, ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], redisNow())
