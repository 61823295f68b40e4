--[[
  Maintenance's look for queued tasks whose job is missing, one page of an agent's queued set
  (SSCAN) at a time, inside Redis: a page costs one call and returns only the suspects. Read
  from the client instead, each task cost two commands (its record, its job hash) whose objects
  outlived the young generation while the pipeline waited on a busy Redis: at 10,000 agents,
  most of the coordinator's heap growth (see docs/operations.md, memory). Writes nothing.

  A task is a suspect when it is queued on this agent, unchanged since ARGV[6], and its job at
  its epoch is absent from the agent's BullMQ queue or finished there (a finished job under the
  same id would make a re-add a no-op). The caller reads each suspect again before re-adding
  its job. The job id is protocol's jobIdFor: 't.' .. task id .. '.' .. epoch.

  Task and job keys are derived from ARGV (all keys share the namespace's hash tag).

  KEYS[1] the agent's queued set   ws:{ns}:agent:<id>:queued

  ARGV[1] key prefix               ws:{ns}:
  ARGV[2] agent id
  ARGV[3] the agent's queue keys   ws:{ns}:q:<queue name>:  (BullMQ's key prefix of the queue)
  ARGV[4] SSCAN cursor             0 to start
  ARGV[5] SSCAN count              a hint: a small set comes whole
  ARGV[6] changed at most at       ms, Redis clock: a task changed later is left alone (its job may be on its way)

  Returns {next cursor ('0' at the end), tasks looked at, suspect task id, its epoch, ...}
]]
local prefix, agent, queueKeys = ARGV[1], ARGV[2], ARGV[3]
local unchangedSince = tonumber(ARGV[6])

local scan = redis.call('SSCAN', KEYS[1], ARGV[4], 'COUNT', ARGV[5])
local ids = scan[2]
local result = {scan[1], #ids}
for _, id in ipairs(ids) do
  local task = redis.call('HMGET', prefix .. 'task:' .. id, 'owner', 'state', 'epoch', 'updatedAt')
  if task[1] == agent and task[2] == 'queued' and task[3] and (tonumber(task[4]) or 0) <= unchangedSince then
    local job = redis.call('HMGET', queueKeys .. 't.' .. id .. '.' .. task[3], 'timestamp', 'finishedOn')
    if not job[1] or job[2] then
      result[#result + 1] = id
      result[#result + 1] = task[3]
    end
  end
end
return result
