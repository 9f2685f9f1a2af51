-- wrk script: POST one NDJSON batch (the body file, records separated by "\n") per request.
--
--   wrk ... -s bench/batch.lua http://127.0.0.1:18081/v1/topics/bench-batch/batch -- <body_file> <active_seconds>
--
-- Like the anchor's post.lua, each connection stops starting requests after <active_seconds>, and wrk
-- runs a little longer, so every request sent is answered and counted (stored == completed - non2xx).

local ffi = require "ffi"
ffi.cdef [[
typedef struct { int64_t sec; int64_t nsec; } ingest_timespec_t;
int clock_gettime(int clock, ingest_timespec_t *t);
]]
local monotonic = ffi.new("ingest_timespec_t")

local function seconds()
    ffi.C.clock_gettime(1, monotonic)
    return tonumber(monotonic.sec) + tonumber(monotonic.nsec) / 1e9
end

local stop_at = math.huge

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"

function init(args)
    local file = assert(io.open(args[1], "rb"))
    wrk.body = file:read("*a")
    file:close()
    if args[2] then
        stop_at = seconds() + tonumber(args[2])
    end
end

function delay()
    if seconds() < stop_at then
        return 0
    end
    return 3600000
end
