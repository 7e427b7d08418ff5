-- Reads a cached entry and checks that every stamp it was stored with is still current.
-- On a miss it takes the lease for the coming database read instead: it makes sure every
-- stamp the entry will depend on exists (and registers the conjunction schemes so writes
-- see them) and returns those stamps, which store_if_fresh.lua checks again later.
--
-- KEYS[1]  entry key
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
-- Returns  {1, payload} on a hit; {0, lock, stamp...} on a miss (models first, then conj
--          keys), lock being 1 when this call took it, 2 when another caller holds it, 0
--          when none was asked for; {2, payload, stamp...} on a stale hit whose refresh
--          is this caller's; {3, payload} on a stale hit another caller refreshes.
local prefix = ARGV[1]
local stale_payload = nil

local value = redis.call('GET', KEYS[1])
if value then
  local nl = string.find(value, '\n', 1, true)
  -- First line: "<header length>" or "<header length> <fresh until, ms since epoch>".
  local header_len, fresh_until
  if nl then
    local len_text, until_text = string.match(string.sub(value, 1, nl - 1), '^(%d+) ?(%d*)$')
    header_len = tonumber(len_text)
    fresh_until = tonumber(until_text)
  end
  if header_len then
    local header = string.sub(value, nl + 1, nl + header_len)
    local fresh = true
    for kind, stamp, name in string.gmatch(header, '(%a) (%S+) ([^\n]*)\n') do
      local current
      if kind == 'e' then
        current = redis.call('HGET', prefix .. 'e:' .. name, '_')
      else
        current = redis.call('GET', prefix .. 'c:' .. name)
      end
      if current ~= stamp then
        fresh = false
        break
      end
    end
    if fresh then
      local payload = string.sub(value, nl + header_len + 1)
      if not fresh_until then
        return {1, payload}
      end
      local now = redis.call('TIME')
      if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) < fresh_until then
        return {1, payload}
      end
      -- Expired by time only (never invalidated): served stale while one caller refreshes.
      local refresh_ms = tonumber(ARGV[#ARGV])
      if refresh_ms > 0 then
        if not redis.call('SET', KEYS[1] .. '#swr', ARGV[2], 'NX', 'PX', refresh_ms) then
          return {3, payload}
        end
        stale_payload = payload
      end
    end
  end
end

local token = ARGV[2]
local ttl = tonumber(ARGV[3])
local out = {0, 0}
local i = 4
local models = tonumber(ARGV[i])
i = i + 1
for _ = 1, models do
  local epoch = prefix .. 'e:' .. ARGV[i]
  local schemes = tonumber(ARGV[i + 1])
  i = i + 2
  redis.call('HSETNX', epoch, '_', token)
  for _ = 1, schemes do
    redis.call('HSETNX', epoch, 's:' .. ARGV[i], '1')
    i = i + 1
  end
  out[#out + 1] = redis.call('HGET', epoch, '_')
end
local conjs = tonumber(ARGV[i])
i = i + 1
for _ = 1, conjs do
  local key = prefix .. 'c:' .. ARGV[i]
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
if stale_payload then
  out[1] = 2
  out[2] = stale_payload
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
