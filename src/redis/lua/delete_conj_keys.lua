-- The common case of invalidate_rows.lua, with the keys worked out by the caller: deletes
-- the conjunction keys a write's rows fall under, provided the model's registered schemes
-- are exactly the ones the caller computed them for and no update transform is active.
-- Otherwise it deletes nothing and returns -2 (a transform is active) or -3 (the schemes
-- differ): the caller then runs invalidate_rows.lua, which handles both. Building the keys in Lua (parsing schemes and
-- rows, concatenating) was most of that script's Redis CPU for a single-row update.
--
-- KEYS[1]  the model's stamp and scheme registry (e:<Model>)
-- KEYS[2]  its active update transforms (u:<Model>)
-- KEYS[3..] the conjunction keys to delete
-- ARGV     the schemes the keys were computed for, each as its registry field (s:<scheme>)
-- Returns  number of keys deleted, or -2 / -3 (nothing done)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return -2
end
-- Same set: every given scheme registered, and nothing else but the model stamp ('_').
local present = redis.call('HMGET', KEYS[1], '_', unpack(ARGV))
local expected = #ARGV
if present[1] then
  expected = expected + 1
end
for k = 2, #present do
  if not present[k] then
    return -3
  end
end
if redis.call('HLEN', KEYS[1]) ~= expected then
  return -3
end
if #KEYS == 2 then
  return 0
end
return redis.call('DEL', unpack(KEYS, 3))
