-- wrk script: POST one fixed record at a fixed offered rate, whatever the server answers (open loop).
--
--   wrk -t1 -c1024 -d<seconds + 2>s -s bench/overload.lua URL -- <body_file> <rate req/s> <seconds>
--
-- The thread's requests are due at start + k / rate (k = 0, 1, ...): before each request wrk asks delay(),
-- which takes the next slot k and waits until it is due (at once if it is late). A connection waiting for a
-- slow answer takes no slot, so as long as some connections are free the offered rate is the planned one,
-- with no coordinated omission of requests the server was slow to answer: give it enough connections
-- (rate x the answers' latency). After <seconds> no new request is sent, so every request is answered
-- and counted before wrk stops. wrk's own summary then says what was really offered (requests / seconds),
-- and how many of them were not 2xx.
--
-- One wrk thread (-t1): slots are per thread; with several threads, give each rate / threads.

local ffi = require "ffi"
ffi.cdef [[
typedef struct { int64_t sec; int64_t nsec; } overload_timespec_t;
int clock_gettime(int clock, overload_timespec_t *t);
]]
local monotonic = ffi.new("overload_timespec_t")

local function now()
    ffi.C.clock_gettime(1, monotonic)
    return tonumber(monotonic.sec) + tonumber(monotonic.nsec) / 1e9
end

local start, rate, stop_at
local slot = 0
local FAR = 3600 * 1000 -- ms: never, within a run

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
    local f = assert(io.open(args[1], "rb"))
    wrk.body = f:read("*a")
    f:close()
    rate = assert(tonumber(args[2]), "rate (req/s) expected")
    start = now()
    stop_at = start + assert(tonumber(args[3]), "seconds expected")
end

function delay()
    local due = start + slot / rate
    if due >= stop_at then
        return FAR
    end

    slot = slot + 1
    local wait = (due - now()) * 1000
    return wait > 0 and math.floor(wait) or 0
end
