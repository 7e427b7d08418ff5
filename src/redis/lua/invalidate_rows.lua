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
-- then     the generation of the write-in-progress guard begin_write.lua raised, to lower
--          it (include/guard.lua), or '0' not to
-- then     the data of the writer's update transform to end ('' for none, see
--          begin_write.lua), and the grace period (ms) during which it still applies to
--          later invalidations
-- then     the fields the write changed, comma-joined, or '*' when unknown or when it
--          created or deleted rows: a field-scoped scheme (`S~R`, see fieldScopedScheme in
--          src/query/dependencies.ts) whose read fields R the write did not change is
--          skipped, as long as no update transform is active (its data changes fields too)
-- then     number of rows R, then R times: number of fields F, then F pairs field, value
--          (values already in canonical form, see src/query/values.ts)
-- Every active update transform of the model (begin_write.lua) is applied to every row
-- as well, alone and together: the row with their data is invalidated too. Per scheme,
-- only the distinct values transforms give its fields count; more than MAX_VARIANTS
-- combinations of them make the model whole, so the cost of a call stays bounded however
-- many updateManys run.
-- Returns  {n, version, scheme...}: n the number of conjunction keys deleted, or -1 when
--          the model was invalidated whole (a row lacked a field some scheme needs, or a
--          scheme appeared during the write; nothing follows then); the registry version
--          (registry_version.lua) and every scheme registered, which the writer keeps to
--          build the keys of its next writes itself (delete_conj_keys.lua, or a plain DEL).

-- @include registry_version
-- @include keys
-- @include guard

local prefix = ARGV[1]
local model = ARGV[2]
local epoch = registry_key(prefix, model)
local model_stamp = model_stamp_key(prefix, model)
-- Every entry depending on the model goes (its model stamp), and its registry with it.
local function whole()
  redis.call('DEL', epoch, model_stamp)
  return {-1}
end

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
local end_guard = ARGV[i]
local end_write = end_guard ~= '0'
local end_transform = ARGV[i + 1]
local grace_ms = tonumber(ARGV[i + 2])
local changed = nil
if ARGV[i + 3] ~= '*' then
  changed = {}
  for name in string.gmatch(ARGV[i + 3], '[^,]+') do
    changed[name] = true
  end
end
i = i + 4

-- Active update transforms: { {field = value, ...}, ... }; expired ones are pruned.
local transforms = {}
local ukey = transforms_key(prefix, model)
-- The writer's own transform gone before its end (its crash expiry passed and another
-- writer pruned it, or it was evicted): writers since then did not apply it.
local vanished = end_transform ~= '' and redis.call('HEXISTS', ukey, end_transform) == 0
if redis.call('EXISTS', ukey) == 1 then
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local entries = redis.call('HGETALL', ukey)
  for k = 1, #entries, 2 do
    local data_text, value = entries[k], entries[k + 1]
    local tab = string.find(value, '\t', 1, true)
    local running, expires = tonumber(string.sub(value, 1, tab - 1)), tonumber(string.sub(value, tab + 1))
    if data_text == end_transform then
      -- The last writer with this data ends: it stays for the grace period only.
      running = running - 1
      if running <= 0 then
        running, expires = 0, now_ms + grace_ms
      end
      redis.call('HSET', ukey, data_text, running .. '\t' .. expires)
      if redis.call('PTTL', ukey) < grace_ms then
        redis.call('PEXPIRE', ukey, grace_ms)
      end
    end
    if expires < now_ms then
      redis.call('HDEL', ukey, data_text)
    else
      local data, field = {}, nil
      for part in string.gmatch(data_text, '[^\t]+') do
        if field then
          data[field] = part
          field = nil
        else
          field = part
        end
      end
      transforms[#transforms + 1] = data
    end
  end
end

if end_write then
  -- The guard lapsed (the write ran longer than its crash timeout) or was evicted while
  -- the write ran: results were stored meanwhile that it should have refused.
  if not lower_guard(mass_writes_key(prefix, model), end_guard) then
    vanished = true
  end
  count_mass_write_end(epoch)
end
-- Either way, what the write could not cover is unknown: the model goes whole.
if vanished then
  return whole()
end

if #transforms > 0 then
  changed = nil
end
-- A field-scoped scheme "S~R" the write can change: some field of R changed (or unknown).
local function touched(read_fields)
  if not changed then
    return true
  end
  for name in string.gmatch(read_fields, '[^,]+') do
    if changed[name] then
      return true
    end
  end
  return false
end

local schemes = {}
local registered = {}
local function finish(n)
  return {n, registry_version_for_writers(epoch, ukey), unpack(registered)}
end
-- No registry ('_' marks one): never made, so nothing cached depends on the model (no
-- model stamp either), or evicted, and entries may rely on schemes it held that no write
-- sees now: then the model goes whole.
if redis.call('HEXISTS', epoch, '_') == 0 then
  if redis.call('EXISTS', model_stamp) == 1 then
    return whole()
  end
  return finish(0)
end
for _, f in ipairs(redis.call('HKEYS', epoch)) do
  if string.sub(f, 1, 2) == 's:' then
    local scheme = string.sub(f, 3)
    if seen and not seen[scheme] then
      return whole()
    end
    registered[#registered + 1] = scheme
    local own, key_model = scheme, model
    local cut = string.find(scheme, '~', 1, true)
    if cut then
      own = string.sub(scheme, 1, cut - 1)
      key_model = model .. '~' .. string.sub(scheme, cut + 1)
    end
    if not cut or touched(string.sub(scheme, cut + 1)) then
      local fields = {}
      for name in string.gmatch(own, '[^,]+') do
        fields[#fields + 1] = name
      end
      schemes[#schemes + 1] = { fields = fields, key_model = key_model }
    end
  end
end
if #schemes == 0 then
  return finish(0)
end

local MAX_VARIANTS = 64
-- Per scheme: its fields, and every way the active transforms can change them. Each field
-- keeps its own value or takes any transform's value for it, in every combination:
-- concurrent updateManys read their rows before either committed, so a row can end up
-- with the data of several (see rowsUnderTransforms in src/invalidation/conjKeys.ts). A
-- transform setting none of the scheme's fields changes no key of it.
local plans = {}
for _, scheme in ipairs(schemes) do
  local fields = scheme.fields
  local variants = { {} }
  for _, name in ipairs(fields) do
    local values, seen_value = {}, {}
    for _, data in ipairs(transforms) do
      local v = data[name]
      if v ~= nil and not seen_value[v] then
        seen_value[v] = true
        values[#values + 1] = v
      end
    end
    local n = #variants
    if n * (#values + 1) - 1 > MAX_VARIANTS then
      return whole()
    end
    for k = 1, n do
      for _, v in ipairs(values) do
        local set = {}
        for f, x in pairs(variants[k]) do
          set[f] = x
        end
        set[name] = v
        variants[#variants + 1] = set
      end
    end
  end
  -- The first, empty one is the row as it is.
  table.remove(variants, 1)
  plans[#plans + 1] = { fields = fields, key_model = scheme.key_model, variants = variants }
end

-- Keys are collected and deleted a thousand at a time: a DEL per key cost Redis about a
-- microsecond each in call overhead (unpack is bounded by Lua's stack).
local deleted = 0
local done = {}
local batch = {}
local function flush()
  if #batch > 0 then
    deleted = deleted + redis.call('DEL', unpack(batch))
    batch = {}
  end
end
local function delete_once(key)
  if not done[key] then
    done[key] = true
    batch[#batch + 1] = key
    if #batch >= 1000 then
      flush()
    end
  end
end
-- The conjunction key of the plan's fields for the row (overridden by `set`); nil if a
-- field is missing.
local function conj_key(plan, row, set)
  local parts = {}
  for k, name in ipairs(plan.fields) do
    local v = (set and set[name]) or row[name]
    if v == nil then
      return nil
    end
    parts[k] = name .. '=' .. v
  end
  return conj_stamp_key(prefix, plan.key_model .. ':' .. table.concat(parts, '&'))
end

for _ = 1, tonumber(ARGV[i]) do
  i = i + 1
  local row = {}
  local n = tonumber(ARGV[i])
  for _ = 1, n do
    row[ARGV[i + 1]] = ARGV[i + 2]
    i = i + 2
  end
  for _, plan in ipairs(plans) do
    local key = conj_key(plan, row, nil)
    if key == nil then
      return whole()
    end
    delete_once(key)
    for _, set in ipairs(plan.variants) do
      delete_once(conj_key(plan, row, set))
    end
  end
end
flush()
return finish(deleted)
