--- @bullmq "changeDelay"
-- reschedule-invite: moves a scheduled invite to a new time (a correction of a start date), in one step: the
-- delayed job's time (BullMQ's own changeDelay, run inside this script), its data (`scheduledFor`, `timeZone`)
-- and its batch's schedule zset.
--
-- INVARIANT: only an invite still waiting for its time is moved: its job is in the delayed zset and was never
-- started (attempts started and made are 0: a retry's backoff is also a delayed job, and is not ours to move).
-- An invite due, active, sent or failed is left alone and reported (2). No job is ever added: one invite, one job.
-- The data is replaced only if it is still what the caller read (else 3: read it again), so no field written
-- meanwhile is lost.
--
-- KEYS: 1 job key, 2 the queue's delayed zset, 3 meta, 4 marker, 5 events stream, 6 the batch's scheduled zset.
-- ARGV: 1 job id, 2 the data as read, 3 the new data, 4 delay ms from ARGV 5, 5 now (ms, the client's clock: BullMQ's
--       workers promote delayed jobs by their clocks, and its changeDelay takes the same), 6 ref ("account/jobId"),
--       7 new scheduledFor ('' none), 8 batch ttl ms.
-- Returns 1 rescheduled, 0 no such job, 2 not waiting for its time (due, active, finished, or tried already),
--         3 its data changed since it was read.
local data = redis.call('HGET', KEYS[1], 'data')
if not data then return 0 end
if data ~= ARGV[2] then return 3 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 2 end
local tried = tonumber(redis.call('HGET', KEYS[1], 'ats') or '0') + tonumber(redis.call('HGET', KEYS[1], 'atm') or '0')
if tried > 0 then return 2 end
local moved = bullmq_changeDelay({ KEYS[2], KEYS[3], KEYS[4], KEYS[5] }, { ARGV[4], ARGV[5], ARGV[1], KEYS[1] })
if moved ~= 0 then return redis.error_reply('reschedule-invite: BullMQ changeDelay answered ' .. tostring(moved)) end
redis.call('HSET', KEYS[1], 'data', ARGV[3])
if ARGV[7] == '' then
  redis.call('ZREM', KEYS[6], ARGV[6])
else
  redis.call('ZADD', KEYS[6], ARGV[7], ARGV[6])
  redis.call('PEXPIRE', KEYS[6], ARGV[8])
end
return 1
