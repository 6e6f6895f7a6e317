--- @include "includes/count-result"
--- @include "includes/redis-now"
--- @include "includes/maybe-complete"
--- @bullmq "removeJob"
-- cancel-invite: a withdrawn hire's pending invite removed, counted `cancelled` in its batch, and its
-- invite.cancelled event written, in one step. A worker takes a job with BullMQ's moveToActive, itself one script
-- that moves it out of wait and locks it: so either this script runs first (the job is gone, no worker ever sees
-- it) or the worker did (the job is active or locked, and this script touches nothing). Never both.
--
-- INVARIANT: an invite is cancelled once. The job is removed only while it is waiting (wait or paused list),
-- delayed (a start date, a retry's backoff), prioritized or failed, and neither active nor locked; then it is gone,
-- and a second cancel, or one running at the same time, finds no job (and the tombstone, KEYS[15]). Its batch counts
-- it once: a member's result is the cancellation (a failure recorded before is un-counted first, so done does not
-- move and succeeded + failed + cancelled = done), and the batch completes if that was its last open invite
-- (maybe-complete: one batch.completed). A job not yet enrolled (its enqueue is between addBulk and enrolment)
-- has no member to count: its enqueue reports it lost.
--
-- KEYS: 1 job, 2 the queue's repeat key (BullMQ's removeJob), 3 active list, 4 delayed zset, 5 prioritized zset,
--       6 completed zset, 7 failed zset, 8 wait list, 9 paused list, 10 stream, 11 batch hash, 12 members set,
--       13 results hash, 14 writers zset, 15 the invite's tombstone (string), 16 the batch's scheduled zset.
-- ARGV: 1 job id, 2 the queue's key prefix ("<prefix>:<account>:"), 3 the batch the caller read in the job's data
--       ('' none), 4 the enqueue time it read, 5 ref ("account/jobId"), 6 stream maxLen, 7 ttl ms (tombstone, batch
--       keys), 8 'cancel' or 'check' (a dry run: what it would do), 9 the cancellation JSON (an object: kind,
--       email, by; the script adds at and previous), 10... the event's fields, name and value in turn (the
--       script adds previous and at).
-- Returns { what, detail, liveMs }: 'cancelled' (detail: the state it was in; liveMs > 0: a live writer holds its
-- batch that long), 'cancellable' (a check; detail: the state), 'active' (being sent now), 'completed' (detail: when
-- it finished, ms), 'gone' (no job; detail: the tombstone's JSON if it was cancelled, else ''), 'changed' (its data
-- is no longer what the caller read: read it again), 'other' (a state cancel does not touch).
local jobKey, jobId = KEYS[1], ARGV[1]
if redis.call('EXISTS', jobKey) == 0 then return { 'gone', redis.call('GET', KEYS[15]) or '', 0 } end
local raw = redis.call('HGET', jobKey, 'data')
local ok, data = pcall(cjson.decode, raw or '')
if not ok or type(data) ~= 'table' then return { 'other', 'unreadable data', 0 } end
local batchId = type(data['batchId']) == 'string' and data['batchId'] or ''
if batchId ~= ARGV[3] or data['enqueuedAt'] ~= tonumber(ARGV[4]) then return { 'changed', '', 0 } end
if redis.call('EXISTS', jobKey .. ':lock') == 1 or redis.call('LPOS', KEYS[3], jobId) then return { 'active', '', 0 } end
if redis.call('ZSCORE', KEYS[6], jobId) then return { 'completed', redis.call('HGET', jobKey, 'finishedOn') or '', 0 } end
local previous
if redis.call('ZSCORE', KEYS[7], jobId) then
  previous = 'failed'
elseif redis.call('ZSCORE', KEYS[4], jobId) then
  previous = 'delayed'
elseif redis.call('ZSCORE', KEYS[5], jobId) then
  previous = 'prioritized'
elseif redis.call('LPOS', KEYS[8], jobId) or redis.call('LPOS', KEYS[9], jobId) then
  previous = 'waiting'
else
  return { 'other', '', 0 }
end
if ARGV[8] == 'check' then return { 'cancellable', previous, 0 } end

local removed = bullmq_removeJob({ KEYS[1], KEYS[2] }, { jobId, '0', ARGV[2] })
if removed ~= 1 then return redis.error_reply('cancel-invite: BullMQ removeJob answered ' .. tostring(removed)) end
local now = redisNow()
local result = string.sub(ARGV[9], 1, -2) .. ',"previous":"' .. previous .. '","at":' .. now .. '}'
redis.call('SET', KEYS[15], result, 'PX', ARGV[7])
local fields = { 'type', 'invite.cancelled' }
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
for _, v in ipairs({ 'previous', previous, 'at', tostring(now) }) do fields[#fields + 1] = v end
redis.call('XADD', KEYS[10], 'MAXLEN', '~', ARGV[6], '*', unpack(fields))
local live = 0
if batchId ~= '' and redis.call('SISMEMBER', KEYS[12], ARGV[5]) == 1 then
  local old = redis.call('HGET', KEYS[13], ARGV[5])
  if old then countResult(KEYS[11], old, -1, ARGV[5]) end
  redis.call('HSET', KEYS[13], ARGV[5], result)
  redis.call('PEXPIRE', KEYS[13], ARGV[7])
  countKind(KEYS[11], 'cancelled', '', 1, ARGV[5])
  -- A scheduled invite cancelled is no longer ahead: status's next scheduled time must not name it.
  redis.call('ZREM', KEYS[16], ARGV[5])
  -- A failure was already counted as done: its batch was complete, or completes with its other invites.
  if not old then live = maybeComplete(KEYS[11], KEYS[14], KEYS[10], ARGV[6], batchId) end
end
return { 'cancelled', previous, live }
