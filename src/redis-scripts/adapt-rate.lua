-- adapt-rate: moves an account's paced rate (the rate pace-call.lua paces its calls at, when lower than the
-- configured one) and records why, in one step, for every worker process of the account.
--
-- INVARIANT: the record follows the shared rate. A lowering applies only if it is lower than the stored rate (two
-- processes lowering at once: the lower one wins, and only what was applied is recorded, from the rate it replaced);
-- a 429 within `settleMs` of the last 429's lowering is the same signal (calls sent at the old rate, in flight in
-- several processes) and lowers nothing more, so one burst of 429s is one step;
-- a raise is computed here from the stored rate and when it last moved (Redis time), so the account recovers at
-- `increasePerSecond` however many processes succeed, and no process raises over another's lowering. The record is
-- one small hash per account: the last lowering (from, to, reason, at, and for a RateLimit header its remaining
-- and resetMs), when the rate reached the limit again (recoveredAt) and when the rate last moved (rateAt).
-- Back at the limit, the rate key is deleted: pace-call then paces at the configured limit (a raised limit applies
-- at once).
--
-- KEYS: 1 the account's paced rate (string, calls/s), 2 its record (hash).
-- ARGV: 1 'lower' or 'raise', 2 the configured limit (calls/s), 3 lower: the new rate; raise: increasePerSecond,
--       4 lower: why ('rate_limited' or 'remaining'), 5 lower: calls left (RateLimit-Remaining, or ''),
--       6 lower: ms until the provider's window resets (or ''), 7 lower: settleMs.
-- Returns {moved (1 or 0), the rate now (calls/s, as a string), ms since the epoch when it last moved}.
--- @include "includes/redis-now"

local now = redisNow()
local limit = tonumber(ARGV[2])
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
local current = limit
if stored ~= nil and stored > 0 and stored < limit then current = stored end
local rateAt = tonumber(redis.call('HGET', KEYS[2], 'rateAt') or '') or 0
local function fmt(rate) return string.format('%.3f', rate) end

if ARGV[1] == 'lower' then
  local target = tonumber(fmt(tonumber(ARGV[3])))
  if target >= current then return {0, fmt(current), rateAt} end
  if ARGV[4] == 'rate_limited' then
    local last = redis.call('HMGET', KEYS[2], 'reason', 'at', 'recoveredAt')
    if last[1] == 'rate_limited' and not last[3] and now - (tonumber(last[2]) or 0) < tonumber(ARGV[7]) then
      return {0, fmt(current), rateAt}
    end
  end
  redis.call('SET', KEYS[1], fmt(target))
  redis.call('HDEL', KEYS[2], 'recoveredAt', 'remaining', 'resetMs')
  redis.call('HSET', KEYS[2], 'rateAt', now, 'from', fmt(current), 'to', fmt(target), 'reason', ARGV[4], 'at', now)
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'remaining', ARGV[5], 'resetMs', ARGV[6]) end
  return {1, fmt(target), now}
end

-- raise
if current >= limit then
  -- At the limit (or above a lowered limit): nothing adapted is left to recover from.
  if stored ~= nil then redis.call('DEL', KEYS[1]) end
  return {0, fmt(limit), rateAt}
end
if rateAt == 0 then
  -- A rate stored before its record was kept: recovery counts from now.
  redis.call('HSET', KEYS[2], 'rateAt', now)
  return {0, fmt(current), now}
end
local elapsed = (now - rateAt) / 1000
if elapsed < 1 then return {0, fmt(current), rateAt} end
local raised = current + tonumber(ARGV[3]) * elapsed
if raised >= limit then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'rateAt', now, 'recoveredAt', now)
  return {1, fmt(limit), now}
end
redis.call('SET', KEYS[1], fmt(raised))
redis.call('HSET', KEYS[2], 'rateAt', now)
return {1, fmt(raised), now}
