-- pop-markers: pops the lowest entry of each given BullMQ `marker` key that has one, as BZPOPMIN would, in one
-- round: after one marker woke the worker process's shared wait (src/worker/marker-watch.ts), the others set in
-- the same burst (an enqueue across many accounts) are read at once instead of one BZPOPMIN (with every key) each.
-- A marker means "this queue may have work now (score 0) or at score (ms)"; popping it is what BullMQ's own
-- worker does before it fetches.
--
-- KEYS: the marker keys. ARGV: none. Returns a flat list: position (1-based), score, position, score, ...
local out = {}
for i = 1, #KEYS do
  local popped = redis.call('ZPOPMIN', KEYS[i])
  if popped[1] then
    out[#out + 1] = i
    out[#out + 1] = popped[2]
  end
end
return out
