--[[
  Trims the event stream below the fold cursor and below what every other consumer group on it
  (an operator's reader, the chaos soak's auditor) has acknowledged, never further: entries from
  the last folded one on are kept, and for each group its oldest pending entry or, if none, its
  last delivered one. The consumer group earlier versions folded with (ARGV[2]) holds nothing
  back: after an upgrade nothing reads it. A stream whose cursor is not made yet is not trimmed
  (nothing folded it yet). The dead-letter stream keeps its newest entries only.

  KEYS[1] event stream         ws:{ns}:events
  KEYS[2] dead-letter stream   ws:{ns}:events:dead
  KEYS[3] fold cursor          ws:{ns}:fold

  ARGV[1] dead-letter entries to keep
  ARGV[2] the consumer group earlier versions folded with

  Returns {entries trimmed from the event stream, the id below which it trimmed ('' if none)}
]]
--- @include "streamIds"
local streamKey, deadKey, cursorKey = KEYS[1], KEYS[2], KEYS[3]
local legacyGroup = ARGV[2]
redis.call('XTRIM', deadKey, 'MAXLEN', '~', ARGV[1])
if redis.call('EXISTS', streamKey) == 0 then return {0, ''} end
local floor = redis.call('HGET', cursorKey, 'id')
if not floor then return {0, ''} end

for _, group in ipairs(redis.call('XINFO', 'GROUPS', streamKey)) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  if info['name'] ~= legacyGroup then
    local keep = info['last-delivered-id']
    if tonumber(info['pending']) > 0 then keep = redis.call('XPENDING', streamKey, info['name'])[2] end
    if streamIdBefore(parseStreamId(keep), parseStreamId(floor)) then floor = keep end
  end
end
if floor == '0-0' then return {0, ''} end
return {redis.call('XTRIM', streamKey, 'MINID', floor), floor}
