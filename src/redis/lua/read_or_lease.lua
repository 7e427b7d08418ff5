-- Checks that every stamp a cached entry was stored with is still current, and returns the
-- entry's payload, unless it is large and the caller reads it itself: a payload over 1 kB
-- is stored under its own key (KEYS[2]), and a caller that expects a large one sends
-- `GET <KEYS[2]>` right behind this call on the same connection, so both come back in one
-- round trip and Lua never copies the payload (a 60 kB payload read into Lua and out again
-- cost Redis ~160 µs of CPU per hit, 13 µs without; the header is a few hundred bytes). If a store
-- replaced the entry between the two commands, the payload read is the newer one, which
-- its own store checked. Small payloads stay inside the entry (one key: less memory).
-- An entry whose stamps changed can never be valid again (stamps are never reused), so it
-- is deleted here: a GET behind then finds nothing, and no dead payload travels.
-- On a miss it takes the lease for the coming database read instead: it makes sure every
-- stamp the entry will depend on exists (and registers the conjunction schemes so writes
-- see them) and returns those stamps, which store_if_fresh.lua checks again later.
--
-- Entry: "<header length> <stale at> <external>\n<header>[<payload>]", where <stale at> is
-- the time it goes stale (ms, Redis clock; 0: not before its TTL), <external> 1 when the
-- payload is under KEYS[2], and the header lines are "m <stamp> <Model>\n" (model stamp,
-- key m:<Model>) and "c <stamp> <conj key>\n" (key c:<conj key>). All plain strings, so
-- that a process that knows an entry's header can check a hit with one MGET instead (see
-- CacheStore.readOrLease); this script is its fallback and every miss.
--
-- KEYS[1]  entry key
-- KEYS[2]  its external payload's key
-- ARGV[1]  key prefix
-- ARGV[2]  fresh random token, used for any stamp that does not exist yet
-- ARGV[3]  ttl (seconds) for newly created conjunction stamps
-- ARGV[4]  number of models N, then N times: model, number of schemes S, S schemes
-- then     number of conjunction keys C, then C conjunction keys
-- then     lock milliseconds L: with L > 0, a miss also tries to take the entry's lock
--          (`<entry key>#lock`, for L ms) so that one caller computes while others wait
-- then     refresh milliseconds R: with R > 0 the caller accepts a stale entry (its time
--          ran out, see store_if_fresh.lua, but no write invalidated it); the first such
--          caller takes `<entry key>#swr` for R ms and gets a lease to refresh it with
-- then     1 when the caller reads an external payload itself (GET behind this call)
-- Returns  {1, P} on a hit; {0, lock, stamp...} on a miss (models first, then conj keys,
--          then per model the count of its mass writes ended, see registry_version.lua,
--          then per model its registry's marker),
--          lock being 1 when this call took it, 2 when another caller holds it, 0 when
--          none was asked for; {2, P, stamp...} on a stale hit whose refresh is this
--          caller's; {3, P} on a stale hit another caller refreshes. P is the payload, or
--          0 for an external one the caller reads itself.
-- @include registry_version
-- @include keys

local prefix = ARGV[1]
local caller_fetches = ARGV[#ARGV] == '1'
local stale_hit = nil

local value = redis.call('GET', KEYS[1])
if value then
  local nl = string.find(value, '\n', 1, true)
  local header_len, fresh_until, external
  if nl then
    local len_text, until_text, ext = string.match(string.sub(value, 1, nl - 1), '^(%d+) (%d+) ([01])$')
    header_len = tonumber(len_text)
    fresh_until = tonumber(until_text)
    external = ext == '1'
  end
  if header_len then
    local header = string.sub(value, nl + 1, nl + header_len)
    local fresh = true
    for kind, stamp, name in string.gmatch(header, '(%a) (%S+) ([^\n]*)\n') do
      local current
      if kind == 'm' then
        current = redis.call('GET', model_stamp_key(prefix, name))
      else
        current = redis.call('GET', conj_stamp_key(prefix, name))
      end
      if current ~= stamp then
        fresh = false
        break
      end
    end
    local payload = 0
    if fresh then
      if not external then
        payload = string.sub(value, nl + header_len + 1)
      elseif caller_fetches then
        -- Evicted or expired apart from its entry: then the entry is no hit.
        fresh = redis.call('EXISTS', KEYS[2]) == 1
      else
        payload = redis.call('GET', KEYS[2])
        fresh = payload ~= false
      end
    end
    if not fresh then
      redis.call('UNLINK', KEYS[1], KEYS[2])
    else
      if fresh_until == 0 then
        return {1, payload}
      end
      local now = redis.call('TIME')
      if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) < fresh_until then
        return {1, payload}
      end
      -- Expired by time only (never invalidated): served stale while one caller refreshes.
      local refresh_ms = tonumber(ARGV[#ARGV - 1])
      if refresh_ms > 0 then
        if not redis.call('SET', KEYS[1] .. '#swr', ARGV[2], 'NX', 'PX', refresh_ms) then
          return {3, payload}
        end
        stale_hit = payload
      end
    end
  end
end

local token = ARGV[2]
local ttl = tonumber(ARGV[3])
local out = {0, 0}
local i = 4
local models = tonumber(ARGV[i])
local registries = {}
i = i + 1
for _ = 1, models do
  local registry = registry_key(prefix, ARGV[i])
  registries[#registries + 1] = registry
  local model_stamp = model_stamp_key(prefix, ARGV[i])
  local schemes = tonumber(ARGV[i + 1])
  i = i + 2
  local stamp
  local created = redis.call('HEXISTS', registry, '_') == 0
  if created then
    -- A new registry (none yet, or evicted): schemes it held may be gone, and writes would
    -- skip them, so no entry built on the old model stamp may stay valid.
    redis.call('HSET', registry, '_', new_registry_version(token))
    stamp = token
    redis.call('SET', model_stamp, stamp)
  else
    stamp = redis.call('GET', model_stamp)
    if not stamp then
      stamp = token
      redis.call('SET', model_stamp, stamp)
    end
  end
  local added = false
  for _ = 1, schemes do
    if redis.call('HSETNX', registry, 's:' .. ARGV[i], '1') == 1 then
      added = true
    end
    i = i + 1
  end
  -- A registry made here has its first version with these schemes in it.
  if added and not created then
    bump_registry_version(registry, token)
  end
  out[#out + 1] = stamp
end
local conjs = tonumber(ARGV[i])
i = i + 1
for _ = 1, conjs do
  local key = conj_stamp_key(prefix, ARGV[i])
  i = i + 1
  local stamp = redis.call('GET', key)
  if not stamp then
    redis.call('SET', key, token, 'EX', ttl)
    stamp = token
  elseif redis.call('TTL', key) < ttl then
    redis.call('EXPIRE', key, ttl)
  end
  out[#out + 1] = stamp
end
-- Mass writes ended so far, per model: a store after another one ended is refused (see
-- count_mass_write_end).
-- Then each registry's marker: a process that knows a registry holds the schemes it leases
-- takes its next leases with plain commands (CacheStore.plainLease).
local markers = {}
for k, registry in ipairs(registries) do
  local marker = redis.call('HMGET', registry, 'ended', '_')
  out[#out + 1] = marker[1] or '0'
  markers[k] = marker[2] or ''
end
for _, marker in ipairs(markers) do
  out[#out + 1] = marker
end
if stale_hit ~= nil then
  out[1] = 2
  out[2] = stale_hit
  return out
end
local lock_ms = tonumber(ARGV[i] or '0')
if lock_ms and lock_ms > 0 then
  if redis.call('SET', KEYS[1] .. '#lock', token, 'NX', 'PX', lock_ms) then
    out[2] = 1
  else
    out[2] = 2
  end
end
return out
