--[[
  Trims the event stream below the fold cursor, never further: entries from the last folded one
  on are kept. A stream whose cursor is not made yet is not trimmed (nothing folded it yet).
  The dead-letter stream keeps its newest entries only.

  KEYS[1] event stream         ws:{ns}:events
  KEYS[2] dead-letter stream   ws:{ns}:events:dead
  KEYS[3] fold cursor          ws:{ns}:fold

  ARGV[1] dead-letter entries to keep

  Returns {entries trimmed from the event stream, the id below which it trimmed ('' if none)}
]]
local streamKey, deadKey, cursorKey = KEYS[1], KEYS[2], KEYS[3]
redis.call('XTRIM', deadKey, 'MAXLEN', '~', ARGV[1])
if redis.call('EXISTS', streamKey) == 0 then return {0, ''} end
local floor = redis.call('HGET', cursorKey, 'id')
if not floor or floor == '0-0' then return {0, ''} end
return {redis.call('XTRIM', streamKey, 'MINID', floor), floor}
