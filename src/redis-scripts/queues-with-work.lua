-- queues-with-work: which of the given account queues have work that no blocking wait may announce — jobs
-- active (a crashed process's jobs to recover with BullMQ's stalled check), waiting or prioritized while not
-- paused, or delayed and due — so the worker process (src/worker/account-engine.ts) starts their account.
-- Read-only: it moves nothing; BullMQ's own scripts (moveToActive, moveStalledJobsToWait) do, once the account
-- runs. It replaces, for idle accounts, the per-queue polling of a BullMQ worker; a marker popped by a process
-- that died before fetching (the only way a wake is lost) is found here.
--
-- KEYS: 5 per queue, in this order: active, wait, prioritized, delayed, meta. ARGV: none.
-- Returns the 1-based positions of the queues with work, negated for a queue with active jobs (whose account,
-- not running in the caller's process, may be a crashed process's to recover). Time is Redis's (TIME).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local found = {}
for q = 0, (#KEYS / 5) - 1 do
  local base = q * 5
  local active = redis.call('LLEN', KEYS[base + 1]) > 0
  local work = active
  if not work and redis.call('HEXISTS', KEYS[base + 5], 'paused') == 0 then
    work = redis.call('LLEN', KEYS[base + 2]) > 0 or redis.call('ZCARD', KEYS[base + 3]) > 0
  end
  if not work then
    -- BullMQ's delayed score is the due time (ms) * 0x1000 plus a counter.
    local first = redis.call('ZRANGE', KEYS[base + 4], 0, 0, 'WITHSCORES')
    work = first[2] ~= nil and math.floor(tonumber(first[2]) / 0x1000) <= now
  end
  if active then
    found[#found + 1] = -(q + 1)
  elseif work then
    found[#found + 1] = q + 1
  end
end
return found
