--- @include "includes/count-result"
--- @include "includes/unrecord"
--- @include "includes/redis-now"
--- @bullmq "reprocessJob"
-- move-failure: an operator action (a replay, a correction) moves one failed invite back to waiting, in one step:
-- checks, forgets its recorded failure in its batch, changes its data, registers the action as a writer of the
-- batch and moves the job (BullMQ's own reprocessJob, run inside this script). Nothing of it can be half done, so
-- an action interrupted at any point has moved each failure or not, and a rerun moves the rest.
--
-- INVARIANT: concurrent actions move each failure once. An action moves a failure only if it was recorded (its
-- marker exists: its batch counted it) before the action started, and was not produced by the move of another
-- action that overlapped this one (still running, or ended after this one started; all in Redis time). The job
-- remembers which action moved it last (`ibMovedBy`); the actions zset remembers until when each one ran.
--
-- KEYS: 1-9 BullMQ's reprocessJob keys (job, events, failed zset, wait, meta, active, marker, prioritized, pc),
--       10 the terminal marker of the failure, 11 batch hash, 12 members set, 13 results hash, 14 writers zset,
--       15 the actions zset.
-- ARGV: 1 job id, 2 LPUSH | RPUSH, 3 the action's start (Redis ms, from TIME), 4 ref ("account/jobId"),
--       5 the job's new data JSON ('' keeps it), 6 writer id ('' none), 7 heartbeat ms, 8 batch ttl ms,
--       9 'forget' (the batch counts the new run instead) or 'keep' (the old batch keeps the failure),
--       10 the action's id.
-- Returns 1 moved; 0 not failed (moved already, or removed); 2 not this action's (failed again after it started,
--         or after a concurrent action moved it); 3 its failure is not recorded yet (a later action takes it).
local jobId = ARGV[1]
local since = tonumber(ARGV[3])
local now = redisNow()
-- This action is running: a heartbeat, refreshed with every move.
redis.call('ZADD', KEYS[15], now + tonumber(ARGV[7]), ARGV[10])
redis.call('PEXPIRE', KEYS[15], ARGV[8])
if not redis.call('ZSCORE', KEYS[3], jobId) or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local recorded = redis.call('GET', KEYS[10])
if not recorded then return 3 end
local ok, outcome = pcall(cjson.decode, recorded)
local at = ok and type(outcome) == 'table' and tonumber(outcome['recordedAt']) or 0
if at >= since then return 2 end
local movedBy = redis.call('HGET', KEYS[1], 'ibMovedBy')
if movedBy and movedBy ~= ARGV[10] then
  local ranUntil = tonumber(redis.call('ZSCORE', KEYS[15], movedBy) or '0')
  if ranUntil >= since then return 2 end
end
redis.call('HSET', KEYS[1], 'ibMovedBy', ARGV[10])
-- 'keep': the job's new data names another batch and a new enqueue time, so its next run has a new marker.
if ARGV[9] == 'forget' then unrecordResult(KEYS[10], KEYS[11], KEYS[12], KEYS[13], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'data', ARGV[5]) end
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[14], now + tonumber(ARGV[7]), ARGV[6])
  redis.call('PEXPIRE', KEYS[14], ARGV[8])
end
local moved = bullmq_reprocessJob({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9] },
  { jobId, ARGV[2], 'failedReason', 'failed', '1', '1' })
if moved ~= 1 then return redis.error_reply('move-failure: BullMQ reprocessJob answered ' .. tostring(moved)) end
return 1
