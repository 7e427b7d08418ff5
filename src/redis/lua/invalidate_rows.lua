-- Invalidates the cached reads that depend on the given rows of one model: for every
-- conjunction scheme registered for the model, the conjunction key a row falls under is
-- deleted, which voids the stamp of every entry (and lease) built on it.
--
-- ARGV[1]  key prefix
-- ARGV[2]  model name
-- ARGV[3]  number of rows R, then R times: number of fields F, then F pairs field, value
--          (values already in canonical form, see src/query/values.ts)
-- Returns  number of conjunction keys deleted, or -1 when the model was invalidated
--          as a whole because a row lacked a field some scheme needs.
local prefix = ARGV[1]
local model = ARGV[2]
local epoch = prefix .. 'e:' .. model

local schemes = {}
for _, f in ipairs(redis.call('HKEYS', epoch)) do
  if string.sub(f, 1, 2) == 's:' then
    local fields = {}
    for name in string.gmatch(string.sub(f, 3), '[^,]+') do
      fields[#fields + 1] = name
    end
    schemes[#schemes + 1] = fields
  end
end
if #schemes == 0 then
  return 0
end

local deleted = 0
local i = 4
for _ = 1, tonumber(ARGV[3]) do
  local row = {}
  local n = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n do
    row[ARGV[i]] = ARGV[i + 1]
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
