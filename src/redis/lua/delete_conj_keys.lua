-- The common cases of invalidate_rows.lua, with the keys worked out by the caller: deletes
-- the conjunction keys a write's rows fall under, provided the model's registered schemes
-- are exactly the ones the caller computed them for, and every active update transform is
-- one the caller applied to its rows too. An updateMany ends here as well: its write
-- counter and its own transform come down with the delete (see begin_write.lua; the
-- caller learnt the transforms active at its start from there). Otherwise it does nothing
-- and returns the active transforms (one of them the caller did not apply; it applies them
-- next time) or -3 (the schemes differ): the caller then runs invalidate_rows.lua, which
-- handles both. Building the keys in Lua (parsing schemes and rows, concatenating) was
-- most of that script's Redis CPU.
--
-- Transforms the caller applied that have ended since only add keys (a row that would
-- have had those values): deleting more never serves anything stale.
--
-- KEYS[1]  the model's scheme registry (e:<Model>)
-- KEYS[2]  its active update transforms (u:<Model>)
-- KEYS[3]  its write-in-progress guard (w:<Model>, see include/guard.lua)
-- KEYS[4]  its model stamp (m:<Model>)
-- KEYS[5..] the conjunction keys to delete
-- ARGV[1]  the data of the caller's own update transform to end ('' for none)
-- ARGV[2]  the grace period (ms) it still applies after its last writer ends
-- ARGV[3]  the generation of the write-in-progress guard to lower (include/guard.lua), or
--          '0' not to lower it
-- ARGV[4]  number K of transforms the caller applied, then K transform data texts
-- then     the schemes the keys were computed for, each as its registry field (s:<scheme>)
-- Returns  {number of keys deleted, registry version (see registry_version.lua)}; or,
--          nothing done, the data of every active transform (some not applied) or -3

-- @include registry_version
-- @include guard

local end_transform = ARGV[1]
-- The writer's guard or its own transform gone before its end (expired while it ran,
-- evicted): invalidate_rows.lua makes the model whole.
if ARGV[3] ~= '0' and not guard_kept(KEYS[3], ARGV[3]) then
  return -3
end
if end_transform ~= '' and redis.call('HEXISTS', KEYS[2], end_transform) == 0 then
  return -3
end
local known_count = tonumber(ARGV[4])
local schemes_at = 5 + known_count
local active = redis.call('HKEYS', KEYS[2])
if #active > 0 then
  local known = {}
  for k = 5, schemes_at - 1 do
    known[ARGV[k]] = true
  end
  for _, data in ipairs(active) do
    if not known[data] then
      return active
    end
  end
end
-- Same set: every given scheme registered, and nothing else but the registry's marker
-- ('_') and its count of mass writes ended ('ended'). No marker: no registry, never made (then no model stamp either, and nothing
-- cached depends on the model) or evicted, and entries may rely on schemes it held that
-- no writer sees now: the model stamp goes, which voids them all.
local present = redis.call('HMGET', KEYS[1], '_', unpack(ARGV, schemes_at))
if present[1] then
  for k = 2, #present do
    if not present[k] then
      return -3
    end
  end
  if redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'ended') ~= #ARGV - schemes_at + 2 then
    return -3
  end
else
  redis.call('DEL', KEYS[4])
end

if end_transform ~= '' then
  -- As in invalidate_rows.lua: the last writer with this data leaves it for the grace period.
  local value = redis.call('HGET', KEYS[2], end_transform)
  if value then
    local grace_ms = tonumber(ARGV[2])
    local tab = string.find(value, '\t', 1, true)
    local running, expires = tonumber(string.sub(value, 1, tab - 1)) - 1, tonumber(string.sub(value, tab + 1))
    if running <= 0 then
      local t = redis.call('TIME')
      running, expires = 0, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + grace_ms
    end
    redis.call('HSET', KEYS[2], end_transform, running .. '\t' .. expires)
    if redis.call('PTTL', KEYS[2]) < grace_ms then
      redis.call('PEXPIRE', KEYS[2], grace_ms)
    end
  end
end
if ARGV[3] ~= '0' then
  lower_guard(KEYS[3], ARGV[3]) -- kept: checked above, in this same script
  count_mass_write_end(KEYS[1])
end
local version = registry_version_for_writers(KEYS[1], KEYS[2])
if #KEYS == 4 then
  return {0, version}
end
return {redis.call('DEL', unpack(KEYS, 5)), version}
