-- pace-call: reserves an account's next provider call, shared by every worker process of the account (a GCRA
-- with no burst: each caller gets its own slot, so no slot is lost to polling or to a fixed window's edge), lets
-- a call start only while the account's last `max` starts span at least `margin × durationMs`, and records when
-- the call really reached the socket.
--
-- INVARIANT: no sliding window of `durationMs` holds more than `max` call starts of one account as the provider
-- sees them, however late callers wake (timers, GC, a Redis outage that held every caller back) and however late a
-- started call reaches its socket: each start is recorded when granted and moved to the time its request was
-- written ('sent'), so a call that stalled between its slot and the wire pushes the later calls back instead of
-- sharing a second with them. The `margin` share of each window (5% at 1.05) absorbs what is left: the few ms
-- between the write and the 'sent' record, the network, the provider's own clock. Starts are at least half an
-- interval apart, so a backlog leaves spread out, not as one burst. The slots handed out are `margin / rate`
-- apart (rate: the configured calls per second, or the lower adapted rate stored by the pacer), so callers on
-- time never wait at the start.
-- A queue-wide hold (a 429 or a spent window: BullMQ's limiter key set to a huge count) starts no call.
--
-- KEYS: 1 next free slot (µs since the epoch, Redis time), 2 the queue's BullMQ limiter key, 3 the adapted rate,
--       4 the account's last `max` call starts (a sorted set: member = the start as granted, score = µs when
--       granted, then when written).
-- ARGV: 1 configured calls per second ('0': not paced, holds only), 2 the count from which the limiter key means
--       a hold, 3 margin (e.g. 1.05), 4 'reserve', 'check' (for a caller that slept until its slot) or 'sent'
--       (the call's request was written), 5 the configured `max`, 6 its `durationMs`, 7 ('sent') the start,
--       8 ('reserve', optional) farMs: a slot further away than this is not reserved (the caller gives its worker
--       slot to another account and comes back then: src/worker/account-engine.ts); '' or 0: always reserve.
-- Returns {0, 0, start}: start the call now (recorded as `start`: say 'sent' with it once written);
--         {0, ms}: slot reserved, sleep ms then 'check'; {1, ms}: the account is held for ms more;
--         {2, ms}: `max` calls started within the last window, 'check' again in ms; 'sent': {0, 0};
--         {3, ms}: the next slot is ms away, beyond farMs: nothing reserved.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if ARGV[4] == 'sent' then
  -- Only ever later, and only while the start is still among the last `max` kept.
  local at = tonumber(redis.call('ZSCORE', KEYS[4], ARGV[7]) or '-1')
  if at >= 0 and at < now then redis.call('ZADD', KEYS[4], 'XX', now, ARGV[7]) end
  return {0, 0}
end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return {1, ttl} end
end
if ARGV[1] == '0' then return {0, 0} end
local rate = tonumber(ARGV[1])
local adapted = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if adapted > 0 and adapted < rate then rate = adapted end
local margin = tonumber(ARGV[3])

-- Starts the call now if the account's last `max` starts span at least the window (with its margin) and the
-- newest is at least half an interval old (a backlog leaves spread out, not as one burst); else the µs to wait.
local function start()
  local max = tonumber(ARGV[5])
  local window = math.ceil(tonumber(ARGV[6]) * 1000 * margin)
  local halfGap = math.floor(500000 / rate)
  local newest = redis.call('ZREVRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if newest[2] ~= nil and now - tonumber(newest[2]) < halfGap then return tonumber(newest[2]) + halfGap - now end
  local oldest = redis.call('ZREVRANGE', KEYS[4], max - 1, max - 1, 'WITHSCORES')
  if oldest[2] ~= nil and now - tonumber(oldest[2]) < window then return tonumber(oldest[2]) + window - now end
  local member = string.format('%.0f', now)
  redis.call('ZADD', KEYS[4], now, member)
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(max + 1))
  redis.call('PEXPIRE', KEYS[4], math.ceil(window / 1000) + 1000)
  return member
end

if ARGV[4] == 'check' then
  local started = start()
  if type(started) == 'number' then return {2, math.ceil(started / 1000)} end
  return {0, 0, started}
end
local interval = math.ceil(1000000 * margin / rate)
local slot = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if slot < now then slot = now end
local farMs = tonumber(ARGV[8] or '') or 0
if farMs > 0 and slot - now > farMs * 1000 then return {3, math.ceil((slot - now) / 1000)} end
local nextSlot = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextSlot), 'PX', math.ceil((nextSlot - now) / 1000) + 1000)
if slot == now then
  local started = start()
  if type(started) == 'number' then return {0, math.ceil(started / 1000)} end
  return {0, 0, started}
end
return {0, math.ceil((slot - now) / 1000)}
