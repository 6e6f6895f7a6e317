-- pace-call: reserves an account's next provider call, shared by every worker process of the account (a GCRA
-- with no burst: each caller gets its own slot, so no slot is lost to polling or to a fixed window's edge), and
-- lets a call start only while the account's last `max` starts span at least `durationMs`.
--
-- INVARIANT: no sliding window of `durationMs` holds more than `max` call starts of one account (in Redis
-- time), however late callers wake (timers, GC, a Redis outage that held every caller back): the last `max` starts
-- are kept; and starts are at least half an interval apart, so a backlog leaves spread out, not as one burst.
-- The slots handed out are `margin / rate` apart (rate: the configured calls per second, or the lower adapted
-- rate stored by the pacer), so callers on time never wait at the start.
-- A queue-wide hold (a 429 or a spent window: BullMQ's limiter key set to a huge count) starts no call.
--
-- KEYS: 1 next free slot (µs since the epoch, Redis time), 2 the queue's BullMQ limiter key, 3 the adapted rate,
--       4 the account's last `max` call starts (a list of µs, newest first).
-- ARGV: 1 configured calls per second ('0': not paced, holds only), 2 the count from which the limiter key means
--       a hold, 3 margin (e.g. 1.03), 4 'reserve' or 'check' (for a caller that slept until its slot),
--       5 the configured `max`, 6 its `durationMs`.
-- Returns {0, 0}: start the call now (recorded as started); {0, ms}: slot reserved, sleep ms then 'check';
--         {1, ms}: the account is held for ms more; {2, ms}: `max` calls started within the last `durationMs`,
--         'check' again in ms.
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return {1, ttl} end
end
if ARGV[1] == '0' then return {0, 0} end
local rate = tonumber(ARGV[1])
local adapted = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if adapted > 0 and adapted < rate then rate = adapted end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- Starts the call now if the account's last `max` starts span at least `durationMs` and the newest is at least
-- half an interval old (a backlog leaves spread out, not as one burst); else the µs left to wait.
local function start()
  local max = tonumber(ARGV[5])
  local window = tonumber(ARGV[6]) * 1000
  local halfGap = math.floor(500000 / rate)
  local newest = tonumber(redis.call('LINDEX', KEYS[4], 0) or '0') or 0
  if now - newest < halfGap then return newest + halfGap - now end
  if redis.call('LLEN', KEYS[4]) >= max then
    local oldest = tonumber(redis.call('LINDEX', KEYS[4], max - 1)) or 0
    if now - oldest < window then return oldest + window - now end
  end
  redis.call('LPUSH', KEYS[4], string.format('%.0f', now))
  redis.call('LTRIM', KEYS[4], 0, max - 1)
  redis.call('PEXPIRE', KEYS[4], math.ceil(window / 1000) + 1000)
  return 0
end

if ARGV[4] == 'check' then
  local wait = start()
  if wait > 0 then return {2, math.ceil(wait / 1000)} end
  return {0, 0}
end
local interval = math.ceil(1000000 * tonumber(ARGV[3]) / rate)
local slot = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if slot < now then slot = now end
local nextSlot = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextSlot), 'PX', math.ceil((nextSlot - now) / 1000) + 1000)
if slot == now then
  local wait = start()
  if wait > 0 then return {0, math.ceil(wait / 1000)} end
  return {0, 0}
end
return {0, math.ceil((slot - now) / 1000)}
