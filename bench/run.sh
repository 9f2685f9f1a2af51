#!/usr/bin/env bash
# Ingest beside the OpenResty design (../shared/anchors/openresty), same machine, same wrk load:
#   1. single-record POST (200-byte JSON, 64 connections): the anchor's /collect/{topic} (append +
#      flush under a cross-worker lock) vs Ingest's /v1/topics/{topic} (Flush durability);
#   2. 100-record NDJSON batches (200-byte records) to Ingest's /batch, as records/s;
#   3. forwarding: records/s from a segment to the in-memory dev broker through Ingest's forwarder,
#      beside a plain Confluent.Kafka producer sending the same records to the same broker
#      (bench/ForwardBench), alternating runs.
# The HTTP figures run the silo store-only (Kafka__Enabled=false), like the anchor's file append
# (which ships with a separate Filebeat); forwarding is measured on its own in step 3.
# Runs interleave (anchor, ingest single, ingest batch) RUNS times; medians are reported, because
# these machines are shared and noisy. Server CPU per record comes from /proc (utime + stime of the
# server's processes); every Ingest run is checked: records stored == records answered 202.
#
#   bench/run.sh                   # RUNS=3 DUR=10 CONNS=64 THREADS=2
#   RUNS=5 DUR=8 bench/run.sh
#
# Writes bench/results/<UTC date>.md (table + raw wrk output). Needs apt packages (installed when
# missing): wrk nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-nginx-kafka.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_DIR=${ANCHOR_DIR:-$ROOT/../shared/anchors/openresty}
RUNS=${RUNS:-3} DUR=${DUR:-10} CONNS=${CONNS:-64} THREADS=${THREADS:-2}
INGEST_PORT=${INGEST_PORT:-18081}
WORK=$ROOT/bench/work
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RESULT=$ROOT/bench/results/$STAMP.md
RAW=$ROOT/bench/results/raw/$STAMP
HZ=$(getconf CLK_TCK)

packages=(wrk nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-nginx-kafka)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -d "$ANCHOR_DIR" ] || { echo "anchor not found at $ANCHOR_DIR (set ANCHOR_DIR)" >&2; exit 1; }

echo "building Release..."
dotnet build "$ROOT/Silo/Silo.csproj" -c Release -v q -nologo >/dev/null
dotnet build "$ROOT/bench/ForwardBench/ForwardBench.csproj" -c Release -v q -nologo >/dev/null

rm -rf "$WORK" && mkdir -p "$WORK/anchor" "$WORK/ingest-data" "$RAW"
# Bodies: the anchor's 200-byte record, and 100 records of 200 bytes as NDJSON.
BODY=$ANCHOR_DIR/bench/body.json
BATCH=$WORK/batch-100.ndjson
for i in $(seq 1 100); do cat "$BODY"; echo; done > "$BATCH"

cleanup() {
  [ -n "${SILO_PID:-}" ] && kill "$SILO_PID" 2>/dev/null && wait "$SILO_PID" 2>/dev/null || true
  ANCHOR_PREFIX=$WORK/anchor "$ANCHOR_DIR/run.sh" stop >/dev/null 2>&1 || true
  # A run stores gigabytes; keep only the silo's log.
  [ -f "$WORK/silo.log" ] && cp "$WORK/silo.log" "$RAW/silo.log"
  rm -rf "$WORK"
}
trap cleanup EXIT

ANCHOR_PREFIX=$WORK/anchor COLLECT_DATA_DIR=$WORK/anchor/var/data "$ANCHOR_DIR/run.sh" start >/dev/null
ANCHOR_MASTER=$(cat "$WORK/anchor/var/nginx.pid")

(cd "$ROOT/Silo/bin/Release/net10.0" && \
  ASPNETCORE_URLS=http://127.0.0.1:$INGEST_PORT Ingest__DataDirectory=$WORK/ingest-data \
  Cluster__SiloPort=21111 Cluster__GatewayPort=31000 Logging__LogLevel__Default=Warning Kafka__Enabled=false \
  exec dotnet Ingest.Silo.dll > "$WORK/silo.log" 2>&1) &
SILO_PID=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$INGEST_PORT/readyz" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$INGEST_PORT/readyz" >/dev/null || { echo "silo did not start" >&2; cat "$WORK/silo.log"; exit 1; }
# The dotnet host execs nothing further: SILO_PID is the silo process itself.
SILO=$(pgrep -f "Ingest.Silo.dll" | head -n 1)

cpu_ticks() { # sum of utime+stime over the given pids and their children threads
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
anchor_pids() { echo "$ANCHOR_MASTER $(pgrep -P "$ANCHOR_MASTER" | tr '\n' ' ')"; }

# measure NAME URL SCRIPT BODY RECORDS_PER_REQUEST PIDS... -> "req_s rec_s us_per_rec p50 p99 completed non2xx"
measure() {
  local name=$1 url=$2 script=$3 body=$4 per=$5; shift 5
  local pids=("$@") out=$RAW/$name.run$run.txt
  local c0 c1; c0=$(cpu_ticks "${pids[@]}")
  wrk -t"$THREADS" -c"$CONNS" -d"$((DUR + 1))s" --latency -s "$script" "$url" -- "$body" "$DUR" > "$out"
  c1=$(cpu_ticks "${pids[@]}")
  local completed non2xx
  completed=$(awk '/requests in/ {print $1}' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  awk -v n="$completed" -v bad="$non2xx" -v per="$per" -v d="$DUR" -v t=$((c1 - c0)) -v hz="$HZ" \
      -v p50="$(awk '$1=="50%" {print $2}' "$out")" -v p99="$(awk '$1=="99%" {print $2}' "$out")" \
      'BEGIN { ok = n - bad; printf "%.0f %.0f %.2f %s %s %d %d\n", n / d, ok * per / d, ok ? t / hz * 1e6 / (ok * per) : 0, p50, p99, n, bad }'
}

stored_records() { # records in one topic's segments, checked by CRC, via the dump command
  local total=0 f n
  for f in "$WORK/ingest-data/segments/$1"/*; do
    n=$(cd "$ROOT/Silo/bin/Release/net10.0" && dotnet Ingest.Silo.dll dump "$f" 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) record(s).*/\1/p')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

echo "warming up..."
wrk -t2 -c16 -d3s -s "$ANCHOR_DIR/bench/post.lua" "http://127.0.0.1:18080/collect/warmup" -- "$BODY" >/dev/null
wrk -t2 -c16 -d3s -s "$ANCHOR_DIR/bench/post.lua" "http://127.0.0.1:$INGEST_PORT/v1/topics/warmup" -- "$BODY" >/dev/null
wrk -t2 -c16 -d3s -s "$ROOT/bench/batch.lua" "http://127.0.0.1:$INGEST_PORT/v1/topics/warmup/batch" -- "$BATCH" >/dev/null

declare -a A I B
ingest_single_ok=0 ingest_batch_ok=0
for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS"
  # shellcheck disable=SC2046
  A+=("$(measure anchor "http://127.0.0.1:18080/collect/bench" "$ANCHOR_DIR/bench/post.lua" "$BODY" 1 $(anchor_pids))")
  I+=("$(measure ingest-single "http://127.0.0.1:$INGEST_PORT/v1/topics/bench" "$ANCHOR_DIR/bench/post.lua" "$BODY" 1 "$SILO")")
  B+=("$(measure ingest-batch "http://127.0.0.1:$INGEST_PORT/v1/topics/bench-batch/batch" "$ROOT/bench/batch.lua" "$BATCH" 100 "$SILO")")
  ingest_single_ok=$((ingest_single_ok + $(echo "${I[-1]}" | awk '{print $6 - $7}')))
  ingest_batch_ok=$((ingest_batch_ok + 100 * $(echo "${B[-1]}" | awk '{print $6 - $7}')))
  printf '  anchor single:  %s\n  ingest single:  %s\n  ingest batch:   %s\n' "${A[-1]}" "${I[-1]}" "${B[-1]}"
done

echo "forwarding benchmark..."
FORWARD_RECORDS=${FORWARD_RECORDS:-200000}
dotnet "$ROOT/bench/ForwardBench/bin/Release/net10.0/Ingest.ForwardBench.dll" "$FORWARD_RECORDS" "$RUNS" | tee "$RAW/forward.txt"
f_line=$(grep '^median:' "$RAW/forward.txt")
f_plain=$(echo "$f_line" | sed -E 's/.*plain producer ([0-9,]+) rec.*/\1/' | tr -d ,)
f_ours=$(echo "$f_line" | sed -E 's/.*ingest forwarder ([0-9,]+) rec.*/\1/' | tr -d ,)

stored_single=$(stored_records bench)
stored_batch=$(stored_records bench-batch)
integrity="PASS"
[ "$stored_single" -eq "$ingest_single_ok" ] && [ "$stored_batch" -eq "$ingest_batch_ok" ] || integrity="FAIL"

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
col() { local -n arr=$1; printf '%s\n' "${arr[@]}" | awk -v c="$2" '{print $c}' | median; }
a_rps=$(col A 1) i_rps=$(col I 1) b_rps=$(col B 1) b_recs=$(col B 2)
a_cpu=$(col A 3) i_cpu=$(col I 3) b_cpu=$(col B 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b ? a / b : 0}'; }
psi=$(awk -F'avg10=' '/some/ {split($2, x, " "); print x[1] "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a)

{
  echo "# Benchmark $STAMP"
  echo
  echo "Command: \`RUNS=$RUNS DUR=$DUR bench/run.sh\` — wrk -t$THREADS -c$CONNS, ${DUR} s send window + 1 s drain, interleaved runs, medians of $RUNS."
  echo "Host: $(nproc) cores, load before/after in raw output; CPU pressure at the end (PSI some avg10): $psi."
  echo
  echo "| figure | OpenResty anchor | Ingest | ratio (Ingest / anchor) |"
  echo "| --- | --- | --- | --- |"
  echo "| single-record POST, req/s (median) | $a_rps | $i_rps | $(ratio "$i_rps" "$a_rps") |"
  echo "| server CPU per record, µs (median) | $a_cpu | $i_cpu | $(ratio "$i_cpu" "$a_cpu") |"
  echo "| 100-record NDJSON batches, records/s (median) | $a_rps (single records) | $b_recs ($b_rps req/s) | $(ratio "$b_recs" "$a_rps") |"
  echo "| batch: server CPU per record, µs (median) | $a_cpu | $b_cpu | $(ratio "$b_cpu" "$a_cpu") |"
  echo
  echo "| forwarding (${FORWARD_RECORDS} records/run, same dev broker) | plain Confluent.Kafka producer | Ingest forwarder | ratio |"
  echo "| --- | --- | --- | --- |"
  echo "| records/s (median of $RUNS) | $f_plain | $f_ours | $(echo "$f_line" | sed -E 's/.*\| ratio ([0-9.]+) .*/\1/') (median of per-run ratios) |"
  echo
  echo "Integrity (Ingest): records stored in segments == records answered 202: single $stored_single / $ingest_single_ok, batch $stored_batch / $ingest_batch_ok → **$integrity**."
  echo
  echo "Per run (req/s, records/s, µs CPU/record, p50, p99, completed, non-2xx):"
  echo
  echo '```'
  for i in $(seq 0 $((RUNS - 1))); do
    echo "run $((i + 1)): anchor ${A[$i]} | ingest single ${I[$i]} | ingest batch ${B[$i]}"
  done
  echo '```'
  echo
  echo "Forwarding runs:"
  echo
  echo '```'
  cat "$RAW/forward.txt"
  echo '```'
  echo
  echo "Raw wrk and forwarding output: \`bench/results/raw/$STAMP/\`."
} > "$RESULT"
cat "$RESULT"
[ "$integrity" = PASS ]
