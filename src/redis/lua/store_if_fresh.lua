-- Stores a computed result only if every stamp its lease returned is still current.
-- A write that committed after the lease deleted one of them, so a result read from the
-- database before that write is refused here instead of being cached stale; so is any
-- result depending on a model while a mass write of it is in progress (begin_write.lua).
--
-- KEYS[1]  entry key
-- ARGV[1]  key prefix
-- ARGV[2]  ttl (seconds)
-- ARGV[3]  header: lines "e <stamp> <model>\n" and "c <stamp> <conj key>\n"
-- ARGV[4]  encoded payload
-- Returns  1 when stored, 0 when refused.
local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])
local header = ARGV[3]

local conj_keys = {}
for kind, stamp, name in string.gmatch(header, '(%a) (%S+) ([^\n]*)\n') do
  local current
  if kind == 'e' then
    current = redis.call('HGET', prefix .. 'e:' .. name, '_')
    -- A mass write of this model is in progress: what we read may already be outdated.
    if redis.call('EXISTS', prefix .. 'w:' .. name) == 1 then
      return 0
    end
  else
    local key = prefix .. 'c:' .. name
    current = redis.call('GET', key)
    conj_keys[#conj_keys + 1] = key
  end
  if current ~= stamp then
    return 0
  end
end

redis.call('SET', KEYS[1], #header .. '\n' .. header .. ARGV[4], 'EX', ttl)
-- A stamp must outlive every entry that depends on it (a vanished stamp is a miss).
for _, key in ipairs(conj_keys) do
  if redis.call('TTL', key) < ttl then
    redis.call('EXPIRE', key, ttl)
  end
end
return 1
