-- wrk script: POST one fixed JSON record per request, each with an Idempotency-Key of its own (never a repeat:
-- this measures what remembering keys costs, not replays).
--
--   wrk ... -s bench/idem.lua http://127.0.0.1:18095/v1/topics/t -- <body_file> <active_seconds>
--
-- Like the anchor's post.lua, each connection stops starting requests after <active_seconds>.

local ffi = require "ffi"
ffi.cdef [[
typedef struct { int64_t sec; int64_t nsec; } ingest_idem_timespec_t;
int clock_gettime(int clock, ingest_idem_timespec_t *t);
]]
local monotonic = ffi.new("ingest_idem_timespec_t")

local function seconds()
    ffi.C.clock_gettime(1, monotonic)
    return tonumber(monotonic.sec) + tonumber(monotonic.nsec) / 1e9
end

local stop_at = math.huge
local threads = 0
local counter = 0
local prefix = ""
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end

function init(args)
    local file = assert(io.open(args[1], "rb"))
    wrk.body = file:read("*a")
    file:close()
    if args[2] then
        stop_at = seconds() + tonumber(args[2])
    end
    prefix = string.format("bench-%d-%d-", os.time(), id or 0)
end

function request()
    counter = counter + 1
    headers["Idempotency-Key"] = prefix .. counter
    return wrk.format("POST", nil, headers, wrk.body)
end

function delay()
    if seconds() < stop_at then
        return 0
    end
    return 3600000
end
