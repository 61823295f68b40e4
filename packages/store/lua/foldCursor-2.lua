--[[
  The fold cursor, made when missing: where folding stands (the last folded entry's id) and how
  many entries were folded since the stream began (the stream's entries-added minus it is the
  lag). A new namespace starts before the first entry. A namespace folded by an earlier version
  through the consumer group ARGV[1] starts where that group had read (its last delivered id,
  its entries-read), so an upgrade neither folds an entry twice nor passes one over, provided
  the old coordinators were let fold everything first (docs/operations.md): entries still pending
  in the group at the switch are not folded.

  KEYS[1] event stream   ws:{ns}:events
  KEYS[2] fold cursor    ws:{ns}:fold

  ARGV[1] the consumer group earlier versions folded with

  Returns {id, folded}
]]
local streamKey, cursorKey, legacyGroup = KEYS[1], KEYS[2], ARGV[1]

local function fieldsOf(flat)
  local fields = {}
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  return fields
end

local cursor = redis.call('HMGET', cursorKey, 'id', 'folded')
if cursor[1] then return {cursor[1], tonumber(cursor[2]) or 0} end

local id, folded = '0-0', 0
if redis.call('EXISTS', streamKey) == 1 then
  local stream = fieldsOf(redis.call('XINFO', 'STREAM', streamKey))
  local added = tonumber(stream['entries-added'])
  -- Entries before the start were deleted before anyone folded them: not lag.
  folded = added - tonumber(stream['length'])
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', streamKey)) do
    local group = fieldsOf(g)
    if group['name'] == legacyGroup then
      id = group['last-delivered-id']
      -- entries-read is unknown (nil) after deletions in the middle of the stream: count what is left.
      folded = tonumber(group['entries-read']) or (added - #redis.call('XRANGE', streamKey, '(' .. id, '+'))
    end
  end
end
redis.call('HSET', cursorKey, 'id', id, 'folded', folded)
return {id, folded}
