-- (1) The floor under availability: a static asset (1.2 KB, served from memory), paced like
-- the availability run. What HTTPS, HTTP and wrk cost on this machine with no query at all.
local c = require("common")
setup = c.setup
init = c.seed
function request() return wrk.format("GET", "/assets/public.js") end
delay = c.pacing()
done = c.done
