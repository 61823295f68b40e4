--[[
  The fold cursor, made when missing: where folding stands (the last folded entry's id) and how
  many entries were folded since the stream began (the stream's entries-added minus it is the
  lag). A new namespace starts before the first entry. A namespace folded by an earlier version
  through the consumer group ARGV[1] starts where that group had read (its last delivered id;
  folded: the entries added minus those after it), so an upgrade neither folds an entry twice nor passes one over, provided
  the old coordinators were stopped first (docs/operations.md). While the group still has pending
  entries (delivered to an old coordinator, not acknowledged: it runs, or died mid-batch), the
  cursor is not made: those entries would never be folded.

  KEYS[1] event stream   ws:{ns}:events
  KEYS[2] fold cursor    ws:{ns}:fold

  ARGV[1] the consumer group earlier versions folded with

  Returns {id, folded}, or {-30, pending entries} while the legacy group has pending entries
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
      if tonumber(group['pending']) > 0 then return {-30, tonumber(group['pending'])} end
      id = group['last-delivered-id']
      -- Counted from what is left after the group's id, not taken from its entries-read: that is
      -- unknown after deletions in the middle of the stream, and Redis 7.0–7.4 reports it wrong in
      -- some cases, which would offset the lag for good. What is left is the backlog the old
      -- coordinators had not read: usually few entries.
      folded = added - #redis.call('XRANGE', streamKey, '(' .. id, '+')
    end
  end
end
redis.call('HSET', cursorKey, 'id', id, 'folded', folded)
return {id, folded}
