-- (3) A front-desk day: 90% availability queries, 10% bookings (new slots, as in create.lua).
local c = require("common")
setup = c.setup
local nthreads = 1
local counter = 0
function init(args)
  nthreads = tonumber(args[1] or "2")
  math.randomseed(os.time() * 100 + tid)
end
function request()
  if math.random() < 0.1 then
    local n = counter * nthreads + tid
    counter = counter + 1
    return c.booking_or_stop(n)
  end
  return c.availability_request()
end
done = c.done
