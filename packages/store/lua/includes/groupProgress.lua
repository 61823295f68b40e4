-- How far a consumer group has read the stream (XINFO GROUPS): its last delivered id and its
-- pending count, or nil (and 0) when the stream has no such group.
local function groupProgress(streamKey, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', streamKey)) do
    local fields = {}
    for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
    if fields['name'] == group then return fields['last-delivered-id'], tonumber(fields['pending']) end
  end
  return nil, 0
end
