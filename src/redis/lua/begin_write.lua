-- Starts a write of one model: returns the conjunction schemes cached reads of the model
-- currently depend on (the write reads pre-images of exactly those fields, or none), and,
-- for writes whose pre-images cannot be exact by themselves (mass writes), raises the
-- model's "write in progress" counter: while it is up, store_if_fresh.lua refuses results
-- that depend on the model, so nothing read during the write can be cached (see
-- docs/design.md, "Mass writes").
--
-- ARGV[1]  key prefix
-- ARGV[2]  model name
-- ARGV[3]  1 to raise the write-in-progress counter, 0 not to
-- ARGV[4]  seconds the counter outlives a writer that never ends (crash)
-- ARGV[5]  optional, for updateMany: a token and ARGV[6] the update's data as canonical
--          "field\tvalue\t..." pairs. Registered as an active update transform: until it
--          ends (plus a grace period), every invalidation of the model also invalidates its
--          rows with this data applied (invalidate_rows.lua), which covers rows that entered
--          the update's where clause after its pre-read.
-- Returns  the schemes, e.g. {'', 'authorId', 'authorId,published'}
local prefix = ARGV[1]
local model = ARGV[2]
if ARGV[3] == '1' then
  local w = prefix .. 'w:' .. model
  redis.call('INCR', w)
  redis.call('EXPIRE', w, tonumber(ARGV[4]))
end
if ARGV[5] then
  local x = prefix .. 'x:' .. model
  redis.call('HSET', x, ARGV[5], '0\t' .. ARGV[6])
  redis.call('EXPIRE', x, tonumber(ARGV[4]) * 2)
end
local schemes = {}
for _, f in ipairs(redis.call('HKEYS', prefix .. 'e:' .. model)) do
  if string.sub(f, 1, 2) == 's:' then
    schemes[#schemes + 1] = string.sub(f, 3)
  end
end
return schemes
