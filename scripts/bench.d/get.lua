-- scripts/bench.d/get.lua: wrk script for scripts/bench's GET runs.
-- Adds nothing to the requests (wrk's own fast path); done() prints one
-- "BENCH_RESULT {json}" line and writes the JSON to $BENCH_WRK_RESULT.
function done(summary, latency, requests)
   local e = summary.errors
   local out = string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000)
   local result = os.getenv("BENCH_WRK_RESULT")
   if result and result ~= "" then
      local f = assert(io.open(result, "w"))
      f:write(out)
      f:close()
   end
   io.write("BENCH_RESULT " .. out)
end
