--[[
  Ends several runs of one agent's tasks in one call: each exactly as finish-4.lua ends it alone
  (includes/finishTask.lua), in the order given, each with its own answer. One refusal does not
  affect the others. What the batch shares is read once: the Redis clock and the agent's load
  stamp (includes/agentLoads.lua). An agent sends the finishes its slots make one after another,
  with no other command of its connection between them, as one call (store/finish-batch.ts), so
  that each still reaches Redis ahead of BullMQ's completion of its job.

  KEYS[1] event stream       ws:{ns}:events
  KEYS[2] agent's queued set  ws:{ns}:agent:<id>:queued
  KEYS[3] agent's running set ws:{ns}:agent:<id>:running

  ARGV[1] agent id
  ARGV[2] retention, ms: a finished task's record expires this long after it finished
  ARGV[3..7] the first run's task id, epoch carried by its job, outcome, result or error, retry
             delay in ms or '' (finish-4.lua's ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[7]);
             then the next run's five, ...

  Each task's record is ws:{ns}:task:<id>, derived from KEYS[1] (same hash tag).
  Returns one answer per run, in order: finish-4.lua's reply for it (its array, or its code).
  Raises an error, finishing nothing, when the run arguments are not groups of five, or none.

  An error raised inside the script after that (by Redis, or by a bug here) stops it where it
  stands: Redis keeps the writes of the finishes before it, and the whole call fails, every answer
  lost as a lost reply loses them. No call the store makes meets one: the arguments are checked
  before the first write; any task id, epoch or detail is at worst a refusal (a record's key keeps
  the namespace's hash tag whatever the id); every key is one the store writes with the type read
  here; and Redis refuses a write for want of memory, or an ACL of an earlier release the load
  stamp's ZADD (includes/agentLoads.lua), only before the script's first write.
]]
--- @include "redisNow"
--- @include "finishTask"

local streamKey, agentId, retentionMs = KEYS[1], ARGV[1], ARGV[2]
if #ARGV < 7 or (#ARGV - 2) % 5 ~= 0 then
  return redis.error_reply('ERR finishMany takes groups of task id, epoch, outcome, detail and retry delay')
end
local prefix = namespacePrefix(streamKey, 'events')
local now = redisNow()
local replies = {}
for i = 3, #ARGV, 5 do
  local taskId = ARGV[i]
  replies[#replies + 1] = finishTask(prefix .. 'task:' .. taskId, streamKey, KEYS[2], KEYS[3], taskId, agentId,
    tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], retentionMs, ARGV[i + 4], now)
end
return replies
