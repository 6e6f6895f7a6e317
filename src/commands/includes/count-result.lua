-- Adds (sign 1) or removes (sign -1) one member's recorded result to the batch counters.
local function countResult(batchKey, recorded, sign)
  local o = cjson.decode(recorded)
  local failed = o['kind'] ~= 'invited' and o['kind'] ~= 'already_member'
  redis.call('HINCRBY', batchKey, 'done', sign)
  redis.call('HINCRBY', batchKey, failed and 'failed' or 'succeeded', sign)
  redis.call('HINCRBY', batchKey, 'outcome:' .. o['kind'], sign)
  if o['reasonClass'] then redis.call('HINCRBY', batchKey, 'reason:' .. o['reasonClass'], sign) end
end
