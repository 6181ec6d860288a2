-- (1) Availability for a random branch, day (within the booked part of the horizon) and
-- service. With BENCH_RATE and BENCH_CONNS set, each connection paces itself so that the
-- whole run offers about BENCH_RATE requests/s (wrk has no fixed-rate mode; wrk2 does).
local c = require("common")
setup = c.setup
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local conns = tonumber(os.getenv("BENCH_CONNS") or "1")
function init(_args) math.randomseed(os.time() * 100 + tid) end
request = c.availability_request
if rate > 0 then
  function delay() return 1000 * conns / rate end
end
done = c.done
