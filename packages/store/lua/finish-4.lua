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
  The rules live in includes/finishTask.lua (finishMany-3.lua finishes several runs by them).
  Keeps the agent's load (includes/agentLoads.lua: keys derived from KEYS[2]).
  Every event it appends is marked in the task's record (field 'ev:<stream id>').
  Returns {the run's duration in ms (measured on the Redis clock), 1 when the task is now
  finished for good, else 0, its state now}, or
    -1 task not found   -2 stale (owner or epoch differ)   -4 task is not running
]]
--- @include "redisNow"
--- @include "finishTask"
return finishTask(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7], redisNow())
