-- Invalidates the cached reads that depend on the given rows of one model: for every
-- conjunction scheme registered for the model, the conjunction key a row falls under is
-- deleted, which voids the stamp of every entry (and lease) built on it.
--
-- ARGV[1]  key prefix
-- ARGV[2]  model name
-- ARGV[3]  '*' when the rows carry every field, or the number N of schemes the writer saw
--          in begin_write.lua followed by those N schemes: a scheme registered since then
--          (a read that leased during the write) may need fields the writer did not read,
--          so the model is then invalidated whole
-- then     1 to lower the write-in-progress counter raised by begin_write.lua, 0 not to
-- then     the token of the writer's update transform to end ('' for none), and the grace
--          period (ms) during which it still applies to later invalidations
-- then     number of rows R, then R times: number of fields F, then F pairs field, value
--          (values already in canonical form, see src/query/values.ts)
-- Every active update transform of the model (begin_write.lua) is applied to every row
-- as well: the row with the transform's data is invalidated too.
-- Returns  number of conjunction keys deleted, or -1 when the model was invalidated whole
--          (a row lacked a field some scheme needs, or a scheme appeared during the write).
local prefix = ARGV[1]
local model = ARGV[2]
local epoch = prefix .. 'e:' .. model

local i = 3
local seen = nil
if ARGV[i] == '*' then
  i = i + 1
else
  seen = {}
  local n = tonumber(ARGV[i])
  for k = 1, n do
    seen[ARGV[i + k]] = true
  end
  i = i + n + 1
end
local end_write = ARGV[i] == '1'
local end_transform = ARGV[i + 1]
local grace_ms = tonumber(ARGV[i + 2])
i = i + 3

-- Active update transforms: { {field = value, ...}, ... }; expired ones are pruned.
local transforms = {}
local xkey = prefix .. 'x:' .. model
if redis.call('EXISTS', xkey) == 1 then
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local entries = redis.call('HGETALL', xkey)
  for k = 1, #entries, 2 do
    local token, value = entries[k], entries[k + 1]
    local tab = string.find(value, '\t', 1, true)
    local expires = tonumber(string.sub(value, 1, tab - 1))
    if expires ~= 0 and expires < now_ms then
      redis.call('HDEL', xkey, token)
    else
      local data = {}
      local parts = {}
      for part in string.gmatch(string.sub(value, tab + 1), '[^\t]+') do
        parts[#parts + 1] = part
      end
      for p = 1, #parts - 1, 2 do
        data[parts[p]] = parts[p + 1]
      end
      transforms[#transforms + 1] = data
      if token == end_transform then
        redis.call('HSET', xkey, token, (now_ms + grace_ms) .. '\t' .. string.sub(value, tab + 1))
      end
    end
  end
end

if end_write then
  local w = prefix .. 'w:' .. model
  if redis.call('DECR', w) <= 0 then
    redis.call('DEL', w)
  end
end

local schemes = {}
for _, f in ipairs(redis.call('HKEYS', epoch)) do
  if string.sub(f, 1, 2) == 's:' then
    local scheme = string.sub(f, 3)
    if seen and not seen[scheme] then
      redis.call('DEL', epoch)
      return -1
    end
    local fields = {}
    for name in string.gmatch(scheme, '[^,]+') do
      fields[#fields + 1] = name
    end
    schemes[#schemes + 1] = fields
  end
end
if #schemes == 0 then
  return 0
end

local deleted = 0
-- Deletes the conjunction key of every scheme the row falls under; false if it lacks a field.
local function invalidate(row, data)
  for _, fields in ipairs(schemes) do
    local parts = {}
    for k, name in ipairs(fields) do
      local v = (data and data[name]) or row[name]
      if v == nil then
        return false
      end
      parts[k] = name .. '=' .. v
    end
    deleted = deleted + redis.call('DEL', prefix .. 'c:' .. model .. ':' .. table.concat(parts, '&'))
  end
  return true
end

for _ = 1, tonumber(ARGV[i]) do
  i = i + 1
  local row = {}
  local n = tonumber(ARGV[i])
  for _ = 1, n do
    row[ARGV[i + 1]] = ARGV[i + 2]
    i = i + 2
  end
  local complete = invalidate(row, nil)
  for _, data in ipairs(transforms) do
    complete = complete and invalidate(row, data)
  end
  if not complete then
    redis.call('DEL', epoch)
    return -1
  end
end
return deleted
