--[[
  Claims several tasks for one agent in one call: each exactly as claim-5.lua claims it alone
  (includes/claimTask.lua), in the order given, each with its own answer. One task's refusal
  does not affect the others. What the batch shares is read once: the Redis clock, the agent's
  status, the agent's load stamp (includes/agentLoads.lua). An agent sends the claims its slots
  make in one turn of its event loop as one call (one script dispatch in Redis, one command in
  Node); a lost reply loses every claim of the batch as it would have lost each.

  KEYS[1] event stream       ws:{ns}:events
  KEYS[2] agent's queued set  ws:{ns}:agent:<id>:queued
  KEYS[3] agent's running set ws:{ns}:agent:<id>:running
  KEYS[4] agent hash          ws:{ns}:agent:<id>

  ARGV[1] agent id
  ARGV[2] retention, ms: a task that ends here expires this long after
  ARGV[3], ARGV[4] the first task's id and the epoch its job carries; then the next task's, ...

  Each task's record is ws:{ns}:task:<id>, derived from KEYS[1] (same hash tag).
  Returns one answer per task, in order: claim-5.lua's reply for it (its array, or its code).
  Raises an error, claiming nothing, for an odd count of task arguments or none.

  An error raised inside the script after that (by Redis, or by a bug here) stops it where it
  stands: Redis keeps the writes of the claims before it, and the whole call fails, every answer
  lost as a lost reply loses them. No call the store makes meets one: the arguments are checked
  before the first write; any task id or epoch is at worst a refusal (a record's key keeps the
  namespace's hash tag whatever the id); every key is one the store writes with the type read
  here; and Redis refuses a write for want of memory, or an ACL of an earlier release the load
  stamp's ZADD (includes/agentLoads.lua), only before the script's first write.
]]
--- @include "redisNow"
--- @include "claimTask"

local streamKey, agentId, retentionMs = KEYS[1], ARGV[1], ARGV[2]
if #ARGV < 4 or #ARGV % 2 ~= 0 then return redis.error_reply('ERR claimMany takes pairs of task id and epoch') end
local prefix = namespacePrefix(streamKey, 'events')
local now = redisNow()
local status
local function agentStatus()
  if status == nil then status = redis.call('HGET', KEYS[4], 'status') end
  return status
end
local replies = {}
for i = 3, #ARGV, 2 do
  local taskId = ARGV[i]
  replies[#replies + 1] = claimTask(prefix .. 'task:' .. taskId, streamKey, KEYS[2], KEYS[3], agentStatus, taskId, agentId,
    tonumber(ARGV[i + 1]), retentionMs, now)
end
return replies
