-- Redis's own clock in ms: every time compared inside a script is read here, never passed in by a client.
local function redisNow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
