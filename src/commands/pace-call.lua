-- pace-call: reserves an account's next provider call, shared by every worker process of the account (a GCRA
-- with no burst: each caller gets its own slot, so no slot is lost to polling or to a fixed window's edge).
--
-- INVARIANT: the slots handed out for one account are at least `interval` apart, interval = margin / rate
-- (rate: the configured calls per second, or the lower adapted rate stored by the pacer). With margin > 1, any
-- window of one second holds at most `rate` slots, and a call may start up to (margin - 1) seconds late
-- (timer and event-loop jitter) without a sliding second at the provider seeing more than `rate` calls.
-- A queue-wide hold (a 429 or a spent window: BullMQ's limiter key set to a huge count) gives no slot.
--
-- KEYS: 1 next free slot (µs since the epoch, Redis time), 2 the queue's BullMQ limiter key, 3 the adapted rate.
-- ARGV: 1 configured calls per second ('0': not paced, holds only), 2 the count from which the limiter key means
--       a hold, 3 margin (e.g. 1.03), 4 'reserve' or 'check' (holds only, for a caller that slept until its slot).
-- Returns {0, ms}: slot reserved, call in ms; {1, ms}: the account is held for ms more.
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return {1, ttl} end
end
if ARGV[4] == 'check' or ARGV[1] == '0' then return {0, 0} end
local rate = tonumber(ARGV[1])
local adapted = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if adapted > 0 and adapted < rate then rate = adapted end
local interval = math.ceil(1000000 * tonumber(ARGV[3]) / rate)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if slot < now then slot = now end
local nextSlot = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextSlot), 'PX', math.ceil((nextSlot - now) / 1000) + 1000)
return {0, math.ceil((slot - now) / 1000)}
