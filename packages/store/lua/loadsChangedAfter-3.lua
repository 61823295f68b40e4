--[[
  The queued and running counts of the agents whose counts may have changed since the event
  `afterId` (read only, for the leader's fleet read): every task script that changes a count
  appends, in the same step, an event naming the agent (agentId, or from and to), so the agents
  the entries after it name are all of them. Read here rather than in the leader, so that the
  entries themselves never cross the wire: only the few agents they name and their counts do.

  KEYS[1] event stream              ws:{ns}:events
  KEYS[2] queued counts sorted set  ws:{ns}:loads:queued
  KEYS[3] running counts sorted set ws:{ns}:loads:running

  ARGV[1] afterId: the stream id the caller's counts are as of
  ARGV[2] limit: most entries to look through

  Returns nil (false) when that cannot be told: more than `limit` entries since, or entries after
  `afterId` that may have been trimmed away (the oldest entry left is newer). Else the flat
  array {n, id_1 .. id_n, queued_1 .. queued_n, running_1 .. running_n}, a count nil where
  the agent holds none (it is not in the sorted set).
]]
--- @include "streamIds"
local streamKey, queuedKey, runningKey = KEYS[1], KEYS[2], KEYS[3]
local afterId, limit = ARGV[1], tonumber(ARGV[2])

if not string.match(afterId, '^%d+%-%d+$') then return false end
local oldest = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', 1)
if oldest[1] and streamIdBefore(parseStreamId(afterId), parseStreamId(oldest[1][1])) then return false end
local entries = redis.call('XRANGE', streamKey, '(' .. afterId, '+', 'COUNT', limit + 1)
if #entries > limit then return false end

-- Agent ids are letters, digits, '_', '.' and '-' (the same pattern as the events' schema).
local PATTERNS = {'"agentId"%s*:%s*"([%w_%.%-]+)"', '"from"%s*:%s*"([%w_%.%-]+)"', '"to"%s*:%s*"([%w_%.%-]+)"'}
local named, ids = {}, {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for f = 2, #fields, 2 do
    for _, pattern in ipairs(PATTERNS) do
      for id in string.gmatch(fields[f], pattern) do
        if not named[id] then
          named[id] = true
          ids[#ids + 1] = id
        end
      end
    end
  end
end

local reply = {#ids}
for i = 1, #ids do reply[1 + i] = ids[i] end
-- In chunks: unpack passes its values on Lua's C stack (a few thousand at most).
for _, key in ipairs({queuedKey, runningKey}) do
  for from = 1, #ids, 1000 do
    local scores = redis.call('ZMSCORE', key, unpack(ids, from, math.min(#ids, from + 999)))
    for j = 1, #scores do reply[#reply + 1] = scores[j] end
  end
end
return reply
