--- @include "appendTaskEvent"
--- @include "agentLoads"
--- @include "firstWait"
-- The rules of one claim (claim-5.lua describes them and the reply), shared by claim-5.lua and
-- claimMany-4.lua so that a task claimed in a batch is claimed exactly as alone.
-- `now`: the Redis clock (redisNow), read once by the caller. `agentStatus`: a function answering
-- the agent hash's 'status' (a batch reads it once: nothing in a script changes it).
local function claimTask(taskKey, streamKey, queuedKey, runningKey, agentStatus, taskId, agentId, epoch, retentionMs, now)
  local rec = redis.call('HMGET', taskKey, 'owner', 'epoch', 'state', 'attempts', 'type', 'payload',
    'requiredCapabilities', 'maxAttempts', 'finishedRuns', 'timeoutMs', 'backoff', 'cancelRequestedAt', 'createdAt', 'waitMs')
  if rec[3] == false then return -1 end
  if rec[1] ~= agentId or tonumber(rec[2]) ~= epoch then return -2 end
  if rec[3] == 'done' or rec[3] == 'failed' or rec[3] == 'cancelled' then return -3 end
  local restarted = 0
  if rec[3] == 'running' then restarted = 1 end
  if restarted == 0 then
    local status = agentStatus()
    if status == 'draining' or status == 'drained' then return -11 end
  end
  local attempts = tonumber(rec[4]) or 0
  local maxAttempts = tonumber(rec[8]) or 1
  local prefix = namespacePrefix(streamKey, 'events')

  -- For an event ending the task here when no run of it has finished (its first was cut off): no
  -- other event will carry its wait.
  local unreportedWaitMs = firstWait(rec[14], rec[9])

  if rec[12] then
    leaveLoad(prefix, queuedKey, agentId, 'queued', taskId, now)
    leaveLoad(prefix, runningKey, agentId, 'running', taskId, now)
    local marker = appendTaskEvent(streamKey, {
      kind = 'task:cancelled', taskId = taskId, agentId = agentId, fromState = rec[3], epoch = epoch,
      waitMs = unreportedWaitMs, at = now })
    redis.call('HSET', taskKey, 'state', 'cancelled', 'finishedAt', now, 'updatedAt', now, marker, 1)
    redis.call('PEXPIRE', taskKey, retentionMs)
    return -3
  end

  if attempts >= maxAttempts then
    local unfinished = attempts - (tonumber(rec[9]) or 0)
    local reason = 'gave up after ' .. attempts .. ' attempts'
    if unfinished > 0 then
      reason = reason .. ': agent died while running it ' .. unfinished .. ' times (or its result never reached Redis)'
    end
    leaveLoad(prefix, queuedKey, agentId, 'queued', taskId, now)
    leaveLoad(prefix, runningKey, agentId, 'running', taskId, now)
    local marker = appendTaskEvent(streamKey, {
      kind = 'task:failed', taskId = taskId, agentId = agentId, taskType = rec[5], epoch = epoch,
      durationMs = 0, final = true, error = reason, fromState = rec[3], waitMs = unreportedWaitMs, at = now })
    redis.call('HSET', taskKey, 'state', 'failed', 'error', reason, 'finishedAt', now, 'updatedAt', now, marker, 1)
    redis.call('PEXPIRE', taskKey, retentionMs)
    return -10
  end

  local attempt = attempts + 1
  leaveLoad(prefix, queuedKey, agentId, 'queued', taskId, now)
  enterLoad(prefix, runningKey, agentId, 'running', taskId, now)
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
end
