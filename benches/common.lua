-- Shared by the wrk scripts: the generated chain's layout (see src/bench_data.rs), slot
-- arithmetic in Buenos Aires local time (UTC-3, no DST), and the percentile report.
local M = {}

local hoods = { "palermo", "belgrano", "recoleta", "caballito", "nunez", "almagro", "flores",
  "urquiza", "san-telmo", "colegiales" }

M.branches = tonumber(os.getenv("BENCH_BRANCHES") or "10")
M.barbers = tonumber(os.getenv("BENCH_BARBERS") or "60")
-- Days after today that the generator booked (availability queries land there).
M.future_days = tonumber(os.getenv("BENCH_FUTURE_DAYS") or "45")
-- First day (after today) this run books into, and how many days from there are its own:
-- each booking scenario gets its own range (run.sh splits them with days.py).
M.day0 = tonumber(os.getenv("BENCH_DAY0") or "50")
M.days = tonumber(os.getenv("BENCH_DAYS") or "40")

function M.slug(i)
  local name = hoods[(i - 1) % #hoods + 1]
  local n = math.floor((i - 1) / #hoods)
  if n == 0 then return name end
  return name .. "-" .. (n + 1)
end

-- Barber b (1-based) works at the branch the generator gave it.
function M.branch_of(b)
  return M.slug(math.floor((b - 1) * M.branches / M.barbers) + 1)
end

local OFFSET = -3 * 3600
-- Local midnight (as a UTC-shifted epoch) of today in Buenos Aires.
local today = math.floor((os.time() + OFFSET) / 86400) * 86400

function M.local_date(days)
  return os.date("!%Y-%m-%d", today + days * 86400)
end

-- Slots a 15-minute service can take in a day: 09:00–13:00 and 14:00–21:00.
local SLOTS = 44
local function slot_minutes(s)
  if s < 16 then return 9 * 60 + 15 * s end
  return 14 * 60 + 15 * (s - 16)
end

-- The day (after today) of the i-th working day (0-based) from day0 on; Sundays are off.
-- Remembered: the load generator shares the server's 2 cores, so it must stay cheap.
local working_days = {}
local function working_day(i)
  if working_days[i] == nil then
    local day = i == 0 and M.day0 or working_day(i - 1) + 1
    -- os.date's wday: Sunday = 1
    while os.date("!*t", today + day * 86400).wday == 1 do day = day + 1 end
    working_days[i] = day
  end
  return working_days[i]
end

-- The n-th free slot (0-based) from day0 on: consecutive n take the same time with
-- successive barbers, then the next time, then the next working day (Sundays are off).
function M.slot(n)
  local per_day = SLOTS * M.barbers
  local day_index = math.floor(n / per_day)
  local within = n % per_day
  local barber = within % M.barbers + 1
  local minutes = slot_minutes(math.floor(within / M.barbers))
  local day = working_day(day_index)
  local start = string.format("%sT%02d:%02d:00-03:00", M.local_date(day),
    math.floor(minutes / 60), minutes % 60)
  -- A new client per booking: +54 9 11 6xxx-xxxx, unique per slot of the whole horizon.
  local phone_n = (day * per_day + within) % 10000000
  local phone = string.format("+54 9 11 6%03d-%04d", math.floor(phone_n / 10000), phone_n % 10000)
  return barber, start, phone
end

-- How many bookings this scenario's days hold: its working days times the slots of a day.
function M.capacity()
  local working = 0
  for day = M.day0, M.day0 + M.days - 1 do
    if os.date("!*t", today + day * 86400).wday ~= 1 then working = working + 1 end
  end
  return working * SLOTS * M.barbers
end

-- Monotonic wall-clock seconds (LuaJIT's ffi: wrk's Lua has only whole-second os.time), to
-- time a scenario that stopped early: wrk itself always reports the full duration.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

-- The n-th booking of this scenario; once its days are full, the thread stops
-- (wrk ends it after this turn of its loop) and what it still sends is a probe that books
-- nothing, so a fast machine ends the scenario early instead of spilling into the next
-- one's days. `done` says so (days_full).
local capacity = nil
function M.booking_or_stop(n)
  if capacity == nil then
    capacity = M.capacity()
    started_at = now()
  end
  if n < capacity then return M.create_request(n) end
  if not full then
    full = true
    stopped_at = now()
    wrk.thread:stop()
  end
  return wrk.format("GET", "/healthz")
end

function M.create_request(n)
  local barber, start, phone = M.slot(n)
  local body = string.format(
    '{"branch":"%s","services":[6],"barber":%d,"start":"%s",' ..
    '"client":{"name":"Cliente Bench","phone":"%s"}}',
    M.branch_of(barber), barber, start, phone)
  return wrk.format("POST", "/api/v1/bookings",
    { ["Content-Type"] = "application/json" }, body)
end

function M.availability_request()
  local path = string.format("/api/v1/branches/%s/availability?date=%s&services=%d",
    M.slug(math.random(M.branches)), M.local_date(math.random(0, M.future_days)),
    math.random(1, 6))
  return wrk.format("GET", path)
end

-- Threads: each numbers its requests id, id + nthreads, … so slots never repeat.
local threads = {}
function M.setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- One JSON line on stdout, for benches/run.sh.
-- With BENCH_RATE and BENCH_CONNS set, each connection paces itself so that the whole run
-- offers about BENCH_RATE requests/s (wrk has no fixed-rate mode; wrk2 does): the function to
-- install as wrk's `delay`, or nil to run flat out. Each wait is drawn afresh from an
-- exponential distribution (mean BENCH_CONNS / BENCH_RATE s), so that the connections'
-- requests arrive like independent clients' (close to a Poisson process). A fixed wait kept
-- them in lockstep: every connection fired within the same millisecond, each time, and the
-- run measured the queue of that burst (p50 0.7 ms for a static asset instead of 0.27).
-- Scripts that pace must seed math.random per thread (see `seed`).
function M.pacing()
  local rate = tonumber(os.getenv("BENCH_RATE") or "0")
  local conns = tonumber(os.getenv("BENCH_CONNS") or "1")
  if rate > 0 then
    local mean_ms = 1000 * conns / rate
    return function() return -mean_ms * math.log(1 - math.random()) end
  end
end

-- Seeds this thread's math.random (wrk's `init`): threads must not draw the same sequence.
function M.seed(_args)
  math.randomseed(os.time() * 100 + tid)
end

function M.done(summary, latency, _requests)
  local e = summary.errors
  -- A scenario whose days filled up ran from its first booking to its last thread's stop.
  local duration = summary.duration / 1e6
  local days_full, first, last = false, nil, nil
  for _, thread in ipairs(threads) do
    local started, stopped = thread:get("started_at"), thread:get("stopped_at")
    if thread:get("full") then days_full = true end
    if started and (first == nil or started < first) then first = started end
    if stopped and (last == nil or stopped > last) then last = stopped end
  end
  if days_full and first and last and last > first then
    local all_full = true
    for _, thread in ipairs(threads) do
      if not thread:get("full") then all_full = false end
    end
    if all_full then duration = last - first end
  end
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"p999_ms":%.3f,"max_ms":%.3f,"errors":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"days_full":%s,"day0":%d,"days":%d}\n',
    summary.requests, duration, summary.requests / duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, e.connect, e.read, e.write,
    e.status, e.timeout, tostring(days_full), M.day0, M.days))
end

return M
