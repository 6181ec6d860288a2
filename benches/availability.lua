-- (1) Availability for a random branch, day (within the booked part of the horizon) and
-- service, flat out or paced (BENCH_RATE, BENCH_CONNS: see common.pacing).
local c = require("common")
setup = c.setup
init = c.seed
request = c.availability_request
delay = c.pacing()
done = c.done
