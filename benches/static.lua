-- (1) The floor under availability: a static asset (1.2 KB, served from memory), paced like
-- the availability run. What HTTPS, HTTP and wrk cost on this machine with no query at all.
local c = require("common")
setup = c.setup
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local conns = tonumber(os.getenv("BENCH_CONNS") or "1")
function request() return wrk.format("GET", "/assets/public.js") end
if rate > 0 then
  function delay() return 1000 * conns / rate end
end
done = c.done
