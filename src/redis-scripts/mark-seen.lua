-- mark-seen: the in-file duplicate check of one enqueue run. Each run (one writer) has its own hash, job id →
-- input position of its first occurrence, so an enqueue of any size keeps none of it in the producer's heap
-- and a rerun (a new writer) starts afresh: a second occurrence is a duplicate of the first in the same input,
-- never "already in this batch".
--
-- INVARIANT: within one run, exactly the first occurrence of a job id is marked new (HSETNX); the hash lives as
-- long as the run keeps sending (PEXPIRE each call) and is deleted when the run ends.
--
-- KEYS: 1 the run's hash. ARGV: 1 ttl ms, then a job id and its input position for each invite.
-- Returns one number per invite: -1 the first occurrence in this run, else the position of the first one.
local out = {}
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    out[#out + 1] = -1
  else
    out[#out + 1] = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out
