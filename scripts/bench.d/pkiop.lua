-- scripts/bench.d/pkiop.lua: wrk script for scripts/bench.
--
-- POSTs each pre-built pkiMessage exactly once to PATH, and counts the
-- answers: HTTP status, and for HTTP 200 the CertRep's pkiStatus (SUCCESS,
-- FAILURE or PENDING), read from its signed attributes, which are not
-- encrypted. A FAILURE CertRep is an HTTP 200 too, so only SUCCESS counts as
-- an enrollment.
--
--   BENCH_WRK_RESULT=FILE wrk -t T -c C -d D -s pkiop.lua URL -- BODIES INDEX PATH T
--     BODIES  the messages back to back (`scepter-testclient batch`'s bodies.bin)
--     INDEX   its index.tsv: i offset length ...
--     PATH    e.g. /scep?operation=PKIOperation
--     T       the same thread count as -t
--   done() prints "BENCH_RESULT {json}" and writes the JSON to FILE (done()
--   runs in wrk's main Lua state, which never sees the script arguments).
--
-- Thread n sends messages n, n+T, n+2T, ... Once a thread has handed out all
-- of its messages, delay() parks its idle connections, and the thread stops
-- when the last answer is in; the run is then flagged "exhausted". wrk still
-- sleeps out the whole -d, so the script keeps its own clock (LuaJIT's ffi,
-- CLOCK_MONOTONIC): from the first request sent to the last answer
-- received, over all threads ("active_us"); rates use that.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local thread_list = {}
local thread_count = 0

function setup(thread)
   thread:set("tid", thread_count)
   thread_count = thread_count + 1
   table.insert(thread_list, thread)
end

-- pkiStatus attribute: OID 2.16.840.1.113733.1.9.3, SET of PrintableString
local PKI_STATUS = "\6\10\96\134\72\1\134\248\69\1\9\3\49\3\19\1"

function init(args)
   local bodies, index, path, nthreads = args[1], args[2], args[3], tonumber(args[4])
   local f = assert(io.open(bodies, "rb"))
   local data = f:read("*a")
   f:close()
   local headers = { ["Content-Type"] = "application/x-pki-message" }
   reqs = {}
   for line in io.lines(index) do
      local n, off, len = line:match("^(%d+)\t(%d+)\t(%d+)")
      n, off, len = tonumber(n), tonumber(off), tonumber(len)
      if n % nthreads == tid then
         reqs[#reqs + 1] = wrk.format("POST", path, headers, data:sub(off + 1, off + len))
      end
   end
   data = nil
   collectgarbage()
   pos = 0
   reserved = 0
   answered = 0
   fillers = 0
   filler = wrk.format("GET", (path:gsub("%?.*$", "")) .. "?operation=GetCACaps")
   sent = 0
   exhausted = 0
   http200, http_other = 0, 0
   success, failure, pending, unknown = 0, 0, 0, 0
   first_us, last_us = 0, 0
end

-- wrk calls delay() before every request() of a connection (also its
-- first): reserve a message there, so that two connections cannot both see
-- one message left. A connection with nothing left to send waits (far longer
-- than any run) instead of sending anything else.
function delay()
   if reserved >= #reqs then
      exhausted = 1
      return 3600000
   end
   reserved = reserved + 1
   return 0
end

function request()
   if pos >= reserved then
      -- No reservation: wrk itself calls request() once on the first
      -- thread's state after init(), to check the script
      -- (script_verify_request), and never sends that one. Hand it a
      -- GetCACaps, so that no message is lost.
      fillers = fillers + 1
      return filler
   end
   pos = pos + 1
   sent = sent + 1
   if first_us == 0 then first_us = now_us() end
   return reqs[pos]
end

function response(status, headers, body)
   local ct = headers["Content-Type"] or headers["content-type"] or ""
   if status == 200 and ct:find("text/plain", 1, true) then
      return -- a filler's GetCACaps answer
   end
   answered = answered + 1
   if status == 200 then
      last_us = now_us()
      http200 = http200 + 1
      local i = body and body:find(PKI_STATUS, 1, true)
      local s = i and body:sub(i + #PKI_STATUS, i + #PKI_STATUS)
      if s == "0" then success = success + 1
      elseif s == "2" then failure = failure + 1
      elseif s == "3" then pending = pending + 1
      else unknown = unknown + 1 end
   else
      last_us = now_us()
      http_other = http_other + 1
   end
   if answered >= #reqs then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local t = { sent = 0, http200 = 0, http_other = 0, success = 0, failure = 0, pending = 0,
               unknown = 0, answered = 0, fillers = 0, exhausted = 0 }
   local first, last = nil, 0
   for _, thread in ipairs(thread_list) do
      for k, _ in pairs(t) do
         t[k] = t[k] + (thread:get(k) or 0)
      end
      local f, l = thread:get("first_us") or 0, thread:get("last_us") or 0
      if f > 0 and (first == nil or f < first) then first = f end
      if l > last then last = l end
   end
   t.active_us = (first and last > first) and (last - first) or 0
   local e = summary.errors
   local parts = {}
   for k, v in pairs(t) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
   parts[#parts + 1] = string.format('"duration_us":%d', summary.duration)
   parts[#parts + 1] = string.format('"requests":%d', summary.requests)
   parts[#parts + 1] = string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
                                     e.connect, e.read, e.write, e.status, e.timeout)
   parts[#parts + 1] = string.format('"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}',
                                     latency:percentile(50) / 1000, latency:percentile(90) / 1000,
                                     latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000)
   local out = "{" .. table.concat(parts, ",") .. "}\n"
   local result = os.getenv("BENCH_WRK_RESULT")
   if result and result ~= "" then
      local f = assert(io.open(result, "w"))
      f:write(out)
      f:close()
   end
   io.write("BENCH_RESULT " .. out)
end
