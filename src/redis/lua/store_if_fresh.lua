-- Stores a computed result only if every stamp its lease returned is still current.
-- A write that committed after the lease deleted one of them, so a result read from the
-- database before that write is refused here instead of being cached stale; so is any
-- result depending on a model while a mass write of it is in progress (begin_write.lua),
-- or once one ended after the lease (it may have run while the result was read).
--
-- Dependencies taken from the result (the rows an include reached) were unknown at lease
-- time: the lease covered their models whole (check-only stamps). Those being current,
-- no write touched the models since, so stamps for the narrower conjunctions can be
-- created now and recorded instead.
--
-- KEYS[1]  entry key
-- KEYS[2]  its external payload's key
-- ARGV[1]  key prefix
-- ARGV[2]  ttl (seconds)
-- ARGV[3]  header kept with the entry: lines "m <stamp> <model>\n", "c <stamp> <conj key>\n"
-- ARGV[4]  encoded payload
-- ARGV[5]  token for stamps created here
-- ARGV[6]  check-only lines: "c <stamp> <conj key>\n" (whole-model leases), and per
--          model "w <mass writes ended>|<registry id> <model>\n" as the lease found them
-- ARGV[7]  conjunctions from the result, lines "<scheme>|<conj key>\n"
-- ARGV[8]  seconds the entry is fresh (stale-while-revalidate), 0 when it is fresh for
--          its whole ttl: the entry then records when it goes stale (Redis clock)
-- ARGV[9]  1 to store the payload under KEYS[2] (large ones), else inside the entry
-- ARGV[10] 1 when this store ends the refresh of a stale entry: only then can the refresh
--          lock be this caller's, and an older external payload still be there (a miss
--          found the entry gone or void, and read_or_lease.lua dropped both keys)
-- ARGV[11] 1 to extend the header's stamps to the entry's TTL: needed only when the lease
--          is older than the margin it gave them (LEASE_MARGIN_SECONDS); each of these
--          commands costs Redis a few µs of Lua call overhead on every miss
-- Layout: see read_or_lease.lua.
-- Returns  1 when stored, 0 when refused.

-- @include registry_version
-- @include keys
-- @include guard

local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])
local header = ARGV[3]
local token = ARGV[5]
local fresh_seconds = tonumber(ARGV[8] or '0')
local ends_refresh = ARGV[10] == '1'
local extend_header = ARGV[11] == '1'

-- A refresh of a stale entry (read_or_lease.lua) ends here, stored or not.
if ends_refresh then
  local refresh_lock = KEYS[1] .. '#swr'
  if redis.call('GET', refresh_lock) == token then
    redis.call('DEL', refresh_lock)
  end
end

local function current(kind, name)
  if kind == 'w' then
    -- Mass writes of the model ended since the lease (see count_mass_write_end), and the
    -- registry they were counted in: one evicted and made again counts from 0 again.
    local state = redis.call('HMGET', registry_key(prefix, name), 'ended', '_')
    local marker = state[2] or ''
    local space = string.find(marker, ' ', 1, true)
    return (state[1] or '0') .. '|' .. (space and string.sub(marker, 1, space - 1) or marker)
  end
  if kind == 'm' then
    -- A mass write of this model is in progress: what we read may already be outdated.
    if guard_up(mass_writes_key(prefix, name)) then
      return nil
    end
    return redis.call('GET', model_stamp_key(prefix, name))
  end
  return redis.call('GET', conj_stamp_key(prefix, name))
end

local conj_keys = {}
for kind, stamp, name in string.gmatch(header, '(%a) (%S+) ([^\n]*)\n') do
  if current(kind, name) ~= stamp then
    return 0
  end
  if kind == 'c' and extend_header then
    conj_keys[#conj_keys + 1] = conj_stamp_key(prefix, name)
  end
end
for kind, stamp, name in string.gmatch(ARGV[6], '(%a) (%S+) ([^\n]*)\n') do
  if current(kind, name) ~= stamp then
    return 0
  end
end

local extra = {}
for scheme, name in string.gmatch(ARGV[7], '([^|\n]*)|([^\n]*)\n') do
  local model = string.match(name, '^([^:]*):')
  local registry = registry_key(prefix, model)
  if redis.call('HSETNX', registry, 's:' .. scheme, '1') == 1 then
    bump_registry_version(registry, token)
  end
  local key = conj_stamp_key(prefix, name)
  local stamp = redis.call('GET', key)
  if not stamp then
    redis.call('SET', key, token, 'EX', ttl)
    stamp = token
  end
  extra[#extra + 1] = 'c ' .. stamp .. ' ' .. name .. '\n'
  conj_keys[#conj_keys + 1] = key
end
header = header .. table.concat(extra)

local fresh_until = '0'
if fresh_seconds > 0 then
  local now = redis.call('TIME')
  fresh_until = string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + fresh_seconds * 1000)
end
-- A large payload under a key of its own, so that hits never copy it through Lua (see
-- read_or_lease.lua); a small one inside the entry.
if ARGV[9] == '1' then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ttl)
  redis.call('SET', KEYS[1], #header .. ' ' .. fresh_until .. ' 1\n' .. header, 'EX', ttl)
else
  redis.call('SET', KEYS[1], #header .. ' ' .. fresh_until .. ' 0\n' .. header .. ARGV[4], 'EX', ttl)
  if ends_refresh then
    redis.call('UNLINK', KEYS[2])
  end
end
-- A stamp must outlive every entry that depends on it (a vanished stamp is a miss). Those
-- of the result's conjunctions may be old ones with little time left.
for _, key in ipairs(conj_keys) do
  if redis.call('TTL', key) < ttl then
    redis.call('EXPIRE', key, ttl)
  end
end
return 1
