-- wrk script: POST one fixed record at a fixed offered rate, whatever the server answers (open loop).
--
--   wrk -t1 -c1024 -d<seconds + 2>s -s bench/overload.lua URL -- <body_file> <rate req/s> <seconds> [depth]
--
-- The thread's requests are due at start + k / rate (k = 0, 1, ...): before each request wrk asks delay(),
-- which takes the next slot k and waits until it is due (at once if it is late). A connection waiting for a
-- slow answer takes no slot, so as long as some connections are free the offered rate is the planned one,
-- with no coordinated omission of requests the server was slow to answer: give it enough connections
-- (rate x the answers' latency). After <seconds> no new request is sent, so every request is answered
-- and counted before wrk stops. wrk's own summary then says what was really offered (requests / seconds),
-- and how many of them were not 2xx.
--
-- depth > 1: each slot sends <depth> requests at once on its connection (HTTP/1.1 pipelining), due at
-- start + k * depth / rate: the same offered rate for a fraction of wrk's own cost per request (one timer
-- and one write per slot), so one core of wrk can offer a server 2x what it takes. Rate 0: no delay at all
-- (closed loop: as fast as the server answers), to measure the maximum with the same requests.
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

local start, slots_per_second, stop_at, burst
local slot = 0
local FAR = 3600 * 1000 -- ms: never, within a run

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
    local f = assert(io.open(args[1], "rb"))
    wrk.body = f:read("*a")
    f:close()
    local rate = assert(tonumber(args[2]), "rate (req/s) expected")
    local depth = tonumber(args[4] or "1")
    slots_per_second = rate / depth
    start = now()
    stop_at = start + assert(tonumber(args[3]), "seconds expected")
    if depth > 1 then
        local one = wrk.format()
        burst = one:rep(depth)
        request = function() return burst end
    end

    if rate == 0 then
        delay = nil -- closed loop
    end
end

function delay()
    local due = start + slot / slots_per_second
    if due >= stop_at then
        return FAR
    end

    slot = slot + 1
    local wait = (due - now()) * 1000
    return wait > 0 and math.floor(wait) or 0
end
