-- Starts a write of one model: returns the conjunction schemes cached reads of the model
-- currently depend on (the write reads pre-images of exactly those fields, or none), and,
-- for writes whose pre-images cannot be exact by themselves (mass writes), raises the
-- model's "write in progress" guard (include/guard.lua): while it is up, store_if_fresh.lua
-- refuses results that depend on the model, so nothing read during the write can be cached
-- (see docs/design.md, "Mass writes").
--
-- ARGV[1]  key prefix
-- ARGV[2]  model name
-- ARGV[3]  a fresh id to raise the write-in-progress guard with (include/guard.lua: its
--          generation if it is made anew), '0' not to raise it
-- ARGV[4]  seconds the guard outlives a writer that never ends (crash)
-- ARGV[5]  optional, for updateMany: the update's data as canonical "field\tvalue\t..."
--          pairs, registered as an active update transform of the model: until it ends
--          (plus a grace period), every invalidation of the model also invalidates its rows
--          with this data applied (invalidate_rows.lua), which covers rows that entered the
--          update's where clause after its pre-read. Transforms are keyed by their data, so
--          a thousand updateManys setting `published = true` cost one: the value is
--          "<running writers>\t<expiry ms>"; the expiry of a running one is a crash guard.
-- ARGV[6]  with ARGV[5]: a fresh token (see new_registry_version)
-- Returns  {schemes, transforms, version, guard}: the schemes, e.g. {'', 'authorId',
--          'authorId,published'}; with ARGV[5], the data of every update transform the
--          model now has (its own included; some may have expired): the writer applies
--          them to its rows itself and ends through delete_conj_keys.lua while no other
--          appears; and the registry version those schemes go with, as
--          registry_version_for_writers gives it, and the guard's generation ('' when
--          none was raised), which the writer's end hands back

-- @include registry_version
-- @include keys
-- @include guard

local prefix = ARGV[1]
local model = ARGV[2]
local transforms = {}
local guard = ''
if ARGV[3] ~= '0' then
  guard = raise_guard(mass_writes_key(prefix, model), tonumber(ARGV[4]), ARGV[3])
end
if ARGV[5] then
  local u = transforms_key(prefix, model)
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local crash_ms = tonumber(ARGV[4]) * 2000
  local running, expires = 0, 0
  local old = redis.call('HGET', u, ARGV[5])
  if old then
    local tab = string.find(old, '\t', 1, true)
    running, expires = tonumber(string.sub(old, 1, tab - 1)), tonumber(string.sub(old, tab + 1))
  else
    -- A writer that saw no transform active deletes its keys without asking (see
    -- registry_version.lua): a new transform is a new version.
    bump_registry_version(registry_key(prefix, model), ARGV[6])
  end
  redis.call('HSET', u, ARGV[5], (running + 1) .. '\t' .. math.max(expires, now_ms + crash_ms))
  if redis.call('PTTL', u) < crash_ms then
    redis.call('PEXPIRE', u, crash_ms)
  end
  transforms = redis.call('HKEYS', u)
end
local schemes = {}
local registry = registry_key(prefix, model)
for _, f in ipairs(redis.call('HKEYS', registry)) do
  if string.sub(f, 1, 2) == 's:' then
    schemes[#schemes + 1] = string.sub(f, 3)
  end
end
return {schemes, transforms, registry_version_for_writers(registry, transforms_key(prefix, model)), guard}
