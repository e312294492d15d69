-- SAN rewriting: the certificate gets the SANs this returns, not the CSR's.
-- Here: email SANs are lower-cased, and a CN that looks like a host name is
-- added as a dns SAN unless the CSR already asks for it.

local function looks_like_host(name)
  return name:find("^[%w][%w%-%.]*%.[%a]+$") ~= nil
end

function verify_request(req)
  local sans, seen = {}, {}
  for _, san in ipairs(req.sans) do
    local value = san.type == "email" and san.value:lower() or san.value
    sans[#sans + 1] = { type = san.type, value = value }
    seen[san.type .. ":" .. value:lower()] = true
  end
  local cn = req.subject_fields.CN
  if cn and looks_like_host(cn) and not seen["dns:" .. cn:lower()] then
    sans[#sans + 1] = { type = "dns", value = cn:lower() }
  end
  return { verdict = "allow", sans = sans }
end
