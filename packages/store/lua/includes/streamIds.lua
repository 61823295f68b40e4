-- Stream ids as {ms, seq}, compared in order (a string comparison would put 9-0 after 10-0).
local function parseStreamId(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return {tonumber(ms), tonumber(seq)}
end
local function streamIdBefore(a, b)
  return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
end
