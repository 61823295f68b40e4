--[[
  Trims the event stream below what every consumer group has acknowledged, never further: for
  each group, the oldest entry still pending, or if none, the last entry delivered. Entries
  from that id on are kept. A stream without groups is not trimmed (nothing folded it yet).
  The dead-letter stream keeps its newest entries only.

  KEYS[1] event stream         ws:{ns}:events
  KEYS[2] dead-letter stream   ws:{ns}:events:dead

  ARGV[1] dead-letter entries to keep

  Returns {entries trimmed from the event stream, the id below which it trimmed ('' if none)}
]]
local streamKey, deadKey = KEYS[1], KEYS[2]
redis.call('XTRIM', deadKey, 'MAXLEN', '~', ARGV[1])
if redis.call('EXISTS', streamKey) == 0 then return {0, ''} end

local function parseId(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parseId(a)
  local bm, bs = parseId(b)
  return am < bm or (am == bm and as < bs)
end

local groups = redis.call('XINFO', 'GROUPS', streamKey)
if #groups == 0 then return {0, ''} end
local floor = nil
for _, group in ipairs(groups) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  local keep = info['last-delivered-id']
  if tonumber(info['pending']) > 0 then
    local summary = redis.call('XPENDING', streamKey, info['name'])
    keep = summary[2]
  end
  if floor == nil or less(keep, floor) then floor = keep end
end
if floor == '0-0' then return {0, ''} end
return {redis.call('XTRIM', streamKey, 'MINID', floor), floor}
