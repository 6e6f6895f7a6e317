-- Adds (sign 1) or removes (sign -1) one member's recorded result to the batch counters: the batch's own and
-- its account's (`acct:<account>:...`, the account being the ref's part before '/'), so an onboarding across
-- accounts shows each tool's progress from the same hash.
local function countResult(batchKey, recorded, sign, ref)
  local o = cjson.decode(recorded)
  local failed = o['kind'] ~= 'invited' and o['kind'] ~= 'already_member'
  local acct = 'acct:' .. string.match(ref, '^([^/]+)/') .. ':'
  for _, p in ipairs({ '', acct }) do
    redis.call('HINCRBY', batchKey, p .. 'done', sign)
    redis.call('HINCRBY', batchKey, p .. (failed and 'failed' or 'succeeded'), sign)
    redis.call('HINCRBY', batchKey, p .. 'outcome:' .. o['kind'], sign)
  end
  if o['reasonClass'] then redis.call('HINCRBY', batchKey, 'reason:' .. o['reasonClass'], sign) end
end
