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
-- then     number of rows R, then R times: number of fields F, then F pairs field, value
--          (values already in canonical form, see src/query/values.ts)
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
if ARGV[i] == '1' then
  local w = prefix .. 'w:' .. model
  if redis.call('DECR', w) <= 0 then
    redis.call('DEL', w)
  end
end
i = i + 1

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
for _ = 1, tonumber(ARGV[i]) do
  i = i + 1
  local row = {}
  local n = tonumber(ARGV[i])
  for _ = 1, n do
    row[ARGV[i + 1]] = ARGV[i + 2]
    i = i + 2
  end
  for _, fields in ipairs(schemes) do
    local parts = {}
    for k, name in ipairs(fields) do
      local v = row[name]
      if v == nil then
        redis.call('DEL', epoch)
        return -1
      end
      parts[k] = name .. '=' .. v
    end
    deleted = deleted + redis.call('DEL', prefix .. 'c:' .. model .. ':' .. table.concat(parts, '&'))
  end
end
return deleted
