-- call-slot: paces an account's provider calls across every worker process, for providers whose calls carry
-- several invites (BullMQ's limiter counts jobs, not calls).
--
-- INVARIANT: two calls of one account start at least ARGV[1] ms apart (the slot key lives that long from the
-- call that took it), so any window of durationMs holds at most `max` calls when ARGV[1] >= durationMs / max.
-- A queue-wide hold (a 429 or a spent window: BullMQ's limiter key set to a huge count) stops every call.
--
-- KEYS: 1 slot key, 2 the queue's BullMQ limiter key. ARGV: 1 interval ms (0: no pacing, only the hold),
--       2 the count from which the limiter key means a hold.
-- Returns 0 when the caller may call now, else the ms to wait before asking again.
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return ttl end
end
if ARGV[1] == '0' then return 0 end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local wait = redis.call('PTTL', KEYS[1])
if wait < 1 then return 1 end
return wait
