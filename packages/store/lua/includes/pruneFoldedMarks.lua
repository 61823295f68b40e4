-- Deletes from a task's record the marks of events the fold has passed, once the record holds
-- PRUNE_MARKS_AT fields or more. The fold checks a mark and leaves it (fold-4.lua), so a record
-- keeps its marks until it expires. Attempts bound what claim and finish add (two marks per attempt,
-- maxAttempts is at most 100); moves and reassignments do not, so their scripts call this. A mark
-- at or before the fold cursor is never looked at again: both fold paths read only the entries
-- after the cursor, which only moves on. Marks of events not yet folded stay.
--- @include "streamIds"
local PRUNE_MARKS_AT = 64
local function pruneFoldedMarks(prefix, taskKey)
  if redis.call('HLEN', taskKey) < PRUNE_MARKS_AT then return end
  local cursor = redis.call('HGET', prefix .. 'fold', 'id')
  -- No cursor yet (nothing folded), or a hand-edited one: nothing is known to be folded.
  if not cursor or not string.match(cursor, '^%d+%-%d+$') then return end
  local folded = parseStreamId(cursor)
  local passed = {}
  for _, field in ipairs(redis.call('HKEYS', taskKey)) do
    local id = string.match(field, '^ev:(%d+%-%d+)$')
    if id and not streamIdBefore(folded, parseStreamId(id)) then passed[#passed + 1] = field end
  end
  if #passed > 0 then redis.call('HDEL', taskKey, unpack(passed)) end
end
