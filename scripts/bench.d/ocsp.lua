-- scripts/bench.d/ocsp.lua: wrk script for scripts/bench-ocsp.
--
--   wrk ... -s ocsp.lua URL -- FILE METHOD
--     FILE    one request a line: for GET the path, for POST "PATH HEX-BODY"
--     METHOD  GET or POST (application/ocsp-request)
-- Each thread walks the list from its own offset, so the serials (and the
-- nonces) are distinct across concurrent requests. Non-200 answers are
-- counted by wrk itself ("Non-2xx or 3xx responses").

local lines = {}
local method = "GET"
local next_i = 1

local function unhex(h)
   return (h:gsub("..", function(b) return string.char(tonumber(b, 16)) end))
end

function init(args)
   method = args[2] or "GET"
   for line in io.lines(args[1]) do
      if method == "POST" then
         local path, hex = line:match("^(%S+) (%x+)$")
         lines[#lines + 1] = wrk.format("POST", path, {["Content-Type"] = "application/ocsp-request"}, unhex(hex))
      else
         lines[#lines + 1] = wrk.format("GET", line)
      end
   end
   next_i = math.random(#lines)
end

function request()
   local r = lines[next_i]
   next_i = next_i % #lines + 1
   return r
end
