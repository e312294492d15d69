-- Intune-style binding: a request is allowed only if the CSR is what its
-- challenge was issued for (req.claims). Denials carry Intune's validation
-- codes, "Code: explanation", so admins who know Intune read them at once.
--
-- Claims (all optional, but at least one must be present):
--   subject             the RFC 2253 subject, exactly
--   subject_pattern     a Lua pattern the whole subject must match
--   sans                "type:value, ..."; the CSR's SAN set must be equal
--   key_usage           "digitalSignature, ..."; the CSR's set must be equal
--   extended_key_usage  names or dotted OIDs; each must be requested
--   min_key_size        bits
-- (core/src/challenge_claims.cc applies the same rules in C++.)

-- "a, b ,c" -> {a = true, b = true, c = true}
local function set_of(list)
  local set = {}
  for item in list:gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then set[item] = true end
  end
  return set
end

local function same_set(a, b)
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end

local function list_set(list, key)
  local set = {}
  for _, v in ipairs(list) do set[key and key(v) or v] = true end
  return set
end

local function check_subject(c, req)
  if c.subject and req.subject ~= c.subject then
    return "SubjectNameMismatch: the CSR's subject '" .. req.subject .. "' is not '" .. c.subject .. "'"
  end
  if c.subject_pattern then
    local first, last = req.subject:find(c.subject_pattern)
    if first ~= 1 or last ~= #req.subject then
      return "SubjectNameMismatch: the CSR's subject '" .. req.subject .. "' does not match the pattern"
    end
  end
end

local function check_sans(c, req)
  if c.sans == nil then return end
  local got = list_set(req.sans, function(san) return san.type .. ":" .. san.value end)
  if not same_set(got, set_of(c.sans)) then
    return "SubjectAltNameMismatch: the CSR's SANs are not the ones the challenge was issued for"
  end
end

local function check_usage(c, req)
  if c.key_usage and not same_set(list_set(req.key_usage), set_of(c.key_usage)) then
    return "KeyUsageMismatch: the CSR's key usage is not '" .. c.key_usage .. "'"
  end
  if c.extended_key_usage then
    local got = list_set(req.extended_key_usage, function(o) return scep.oid(o) or o end)
    for want in pairs(set_of(c.extended_key_usage)) do
      if not got[scep.oid(want) or want] then
        return "EnhancedKeyUsageMismatch: the CSR does not ask for extended key usage '" .. want .. "'"
      end
    end
  end
end

local function check_key(c, req)
  if c.min_key_size == nil then return end
  local bits = tonumber(c.min_key_size)
  if bits == nil then return "KeyLengthMismatch: the challenge's min_key_size is not a number" end
  if req.key_bits < bits then
    return "KeyLengthMismatch: the CSR's key has " .. req.key_bits .. " bits, at least " .. bits .. " are required"
  end
end

local CHECKS = { check_subject, check_sans, check_usage, check_key }
local KEYS = { "subject", "subject_pattern", "sans", "key_usage", "extended_key_usage", "min_key_size" }

function verify_request(req)
  local bound = false
  for _, key in ipairs(KEYS) do bound = bound or req.claims[key] ~= nil end
  if not bound then
    return scep.deny("ClaimsMissing: the challenge binds no subject, SAN, key usage or key size")
  end
  for _, check in ipairs(CHECKS) do
    local why = check(req.claims, req)
    if why then return scep.deny(why) end
  end
  return scep.allow()
end
