-- (2) Booking creation: every request a new, valid, non-overlapping slot (see common.slot).
local c = require("common")
local nthreads = 1
setup = c.setup
local counter = 0
-- The thread count comes as the script's argument (wrk ... -- 2).
function init(args)
  nthreads = tonumber(args[1] or "2")
end
function request()
  local n = counter * nthreads + tid
  counter = counter + 1
  return c.booking_or_stop(n)
end
done = c.done
