-- Deny subjects that match any of these Lua patterns (against the RFC 2253
-- subject, e.g. "CN=kiosk-12,OU=Lobby,O=Example"); allow the rest.

local DENIED = {
  "^CN=test",           -- test devices
  "OU=Retired%f[,\0]",  -- a retired unit, anywhere in the DN (%f: the value ends there)
  "CN=[^,]*%*",         -- wildcards in a common name
}

function verify_request(req)
  for _, pattern in ipairs(DENIED) do
    if req.subject:find(pattern) then
      return scep.deny("the subject matches the denied pattern '" .. pattern .. "'")
    end
  end
  return true
end
