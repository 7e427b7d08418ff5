-- A model's registry version, kept in its marker field '_' as "<id> <n>": a new id when
-- the registry is made, n + 1 whenever it gains a scheme or its model an update
-- transform. A writer that knows the version its copy of the schemes goes with deletes
-- its keys with a plain DEL and reads the marker beside it (CacheStore.invalidateRows):
-- whatever a reader or an updateMany changed since shows as another version. Ids are
-- unique: a token of the caller's and the time. Included by the scripts that change a
-- registry or report its version.

-- A version for a registry made now.
local function new_registry_version(fresh_id)
  local t = redis.call('TIME')
  return fresh_id .. '@' .. t[1] .. '.' .. t[2] .. ' 0'
end

-- After the registry gained something: its next version (none while it has no marker).
local function bump_registry_version(registry, fresh_id)
  local v = redis.call('HGET', registry, '_')
  if not v then
    return
  end
  local id, n = string.match(v, '^(%S+) (%d+)$')
  if id then
    redis.call('HSET', registry, '_', id .. ' ' .. (tonumber(n) + 1))
  else
    -- A marker of an earlier layout, which no write could check: a new id from here on.
    redis.call('HSET', registry, '_', new_registry_version(fresh_id))
  end
end

-- What a writer may take as the version of the registry and its model's transforms: ''
-- for no registry, '*' for none to rely on (a transform is active, or the marker is of
-- an earlier layout), else the version.
local function registry_version_for_writers(registry, transforms_key)
  if redis.call('EXISTS', transforms_key) == 1 then
    return '*'
  end
  local v = redis.call('HGET', registry, '_')
  if not v then
    return ''
  end
  if string.find(v, ' ', 1, true) then
    return v
  end
  return '*'
end

-- A mass write's guard came down (see begin_write.lua): its registry counts it in field
-- 'ended', which every lease records and every store compares. A result read while the
-- guard was up but stored after it came down may hold a row the mass write changed
-- without a pre-image (it entered the where clause after the pre-read): the guard alone
-- refuses only the stores that arrive while it is up. Kept in the registry so that
-- eviction cannot reset it unseen: a registry lost or made again comes with a model stamp
-- gone or new, which refuses those stores anyway.
local function count_mass_write_end(registry)
  if redis.call('HEXISTS', registry, '_') == 1 then
    redis.call('HINCRBY', registry, 'ended', 1)
  end
end
