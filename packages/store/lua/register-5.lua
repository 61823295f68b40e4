--[[
  Registers (or re-registers) an agent: writes its profile, marks it alive with a heartbeat now
  (in its hash and the heartbeat sorted set), records the change for the leader's cache of
  profiles, and appends `agent:registered`. An agent that comes back under the same id simply
  overwrites its profile.

  KEYS[1] agent hash          ws:{ns}:agent:<id>
  KEYS[2] agents set          ws:{ns}:agents
  KEYS[3] event stream        ws:{ns}:events
  KEYS[4] heartbeats zset     ws:{ns}:heartbeats      (agent id -> last heartbeat, ms)
  KEYS[5] agent changes zset  ws:{ns}:agent-changes   (agent id -> number of its latest change)

  ARGV[1] agent id
  ARGV[2] capabilities (JSON array, already validated)
  ARGV[3] concurrency
  ARGV[4] priority

  Stamps the agent in ws:{ns}:loads:changed (key derived from KEYS[3], see includes/agentLoads.lua):
  an agent removed (its stamp goes with it) and registered again under the same id has its loads
  read again by the leader, not the ones it cached before the removal.

  Returns the registration time (ms, Redis clock)
]]
--- @include "redisNow"
--- @include "agentChanged"
local agentKey, agentsKey, streamKey, heartbeatsKey, changesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local agentId = ARGV[1]

local now = redisNow()
-- Before any other write: a script that fails on a command (an ACL without ZADD on the key) keeps
-- the writes made before it.
redis.call('ZADD', string.sub(streamKey, 1, #streamKey - #'events') .. 'loads:changed', now, agentId)
redis.call('HSET', agentKey, 'id', agentId, 'capabilities', ARGV[2], 'concurrency', ARGV[3],
  'priority', ARGV[4], 'registeredAt', now, 'lastHeartbeat', now, 'status', 'alive')
redis.call('SADD', agentsKey, agentId)
redis.call('ZADD', heartbeatsKey, now, agentId)
agentChanged(changesKey, agentId)

-- cjson would turn an empty capability list into {}, so the validated JSON array is spliced in.
local event = cjson.encode({ kind = 'agent:registered', agentId = agentId,
  concurrency = tonumber(ARGV[3]), priority = tonumber(ARGV[4]), at = now })
event = string.sub(event, 1, -2) .. ',"capabilities":' .. ARGV[2] .. '}'
redis.call('XADD', streamKey, '*', 'event', event)
return now
