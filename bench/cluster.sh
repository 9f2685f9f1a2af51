#!/usr/bin/env bash
# A hot topic on a two-silo cluster (Redis membership): one shard against two, same session, alternating.
#
#   bench/cluster.sh                   # RUNS=3 DUR=8 WARMUP=10 DURABILITY=Flush: about 2 minutes
#   DURABILITY=Fsync bench/cluster.sh  # a grain fsyncs one commit at a time: where shards pay off
#
# Two Release silos (store-only, Kafka__Enabled=false) join through a local redis-server; topic "hot1"
# has one shard, "hot2" two (Ingest__Shards__hot2=2). Each round sends 100-record NDJSON batches to
# both silos' HTTP APIs at once (two wrk, -c32 each) for DUR seconds, first to hot1, then to hot2.
# Records/s is summed over both wrk; the figure is the median of the rounds and the ratio hot2 / hot1.
# Where each shard's grain ran is read from the data directories (segments/<topic> on silo A or B).
# Every record answered 202 is counted back from the segments (CRC checked), or the script fails.
# Writes bench/results/cluster-<UTC date>.md and raw output under bench/results/raw/cluster-<date>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_DIR=${ANCHOR_DIR:-$ROOT/../shared/anchors/openresty}
RUNS=${RUNS:-3} DUR=${DUR:-8} WARMUP=${WARMUP:-10} CONNS=${CONNS:-32} DURABILITY=${DURABILITY:-Flush}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
WORK=$ROOT/bench/work-cluster
RESULT=$ROOT/bench/results/cluster-$STAMP-$DURABILITY.md
RAW=$ROOT/bench/results/raw/cluster-$STAMP
SILO_DIR=$ROOT/Silo/bin/Release/net10.0

missing=()
for p in wrk redis-server; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -f "$ANCHOR_DIR/bench/body.json" ] || { echo "anchor body not found at $ANCHOR_DIR (set ANCHOR_DIR)" >&2; exit 1; }

echo "building Release..."
dotnet build "$ROOT/Silo/Silo.csproj" -c Release -v q -nologo >/dev/null

rm -rf "$WORK" && mkdir -p "$WORK/a" "$WORK/b" "$RAW"
for _ in $(seq 1 100); do cat "$ANCHOR_DIR/bench/body.json"; echo; done > "$WORK/batch-100.ndjson"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for log in "$WORK"/*.log; do [ -f "$log" ] && cp "$log" "$RAW/"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

REDIS_PORT=16399
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no > "$WORK/redis.log" 2>&1 &
PIDS+=($!)

# start_silo NAME HTTP_PORT SILO_PORT GATEWAY_PORT
start_silo() {
  (cd "$SILO_DIR" && exec env ASPNETCORE_URLS="http://127.0.0.1:$2" Ingest__DataDirectory="$WORK/$1" \
    Ingest__MaxDiskBytes=$((40 * 1024 * 1024 * 1024)) Ingest__Shards__hot2=2 Ingest__Durability="$DURABILITY" \
    Cluster__Redis="127.0.0.1:$REDIS_PORT" Cluster__ClusterId="bench-$STAMP" Cluster__AdvertisedAddress=127.0.0.1 \
    Cluster__SiloPort="$3" Cluster__GatewayPort="$4" Logging__LogLevel__Default=Warning Kafka__Enabled=false \
    dotnet Ingest.Silo.dll > "$WORK/silo-$1.log" 2>&1) &
  PIDS+=($!)
}
start_silo a 18191 21311 31311
start_silo b 18192 21312 31312
for _ in $(seq 1 120); do
  if curl -sf http://127.0.0.1:18191/readyz | grep -q '"silos":2' && curl -sf http://127.0.0.1:18192/readyz | grep -q '"silos":2'; then break; fi
  sleep 0.5
done
curl -sf http://127.0.0.1:18191/readyz | grep -q '"silos":2' || { echo "the two silos did not form a cluster" >&2; cat "$WORK"/silo-*.log >&2; exit 1; }

BATCH_LUA=$ROOT/bench/batch.lua
# both TOPIC SECONDS NAME -> "records_per_s accepted_requests non2xx": wrk on both silos at once
both() {
  local topic=$1 secs=$2 name=$3
  wrk -t1 -c"$CONNS" -d"$((secs + 1))s" -s "$BATCH_LUA" "http://127.0.0.1:18191/v1/topics/$topic/batch" -- "$WORK/batch-100.ndjson" "$secs" > "$RAW/$name.a.txt" &
  local wa=$!
  wrk -t1 -c"$CONNS" -d"$((secs + 1))s" -s "$BATCH_LUA" "http://127.0.0.1:18192/v1/topics/$topic/batch" -- "$WORK/batch-100.ndjson" "$secs" > "$RAW/$name.b.txt"
  wait "$wa"
  awk -v d="$secs" '/requests in/ {n += $1} /Non-2xx/ {bad += $NF} END {printf "%.0f %d %d\n", (n - bad) * 100 / d, n - bad, bad}' "$RAW/$name.a.txt" "$RAW/$name.b.txt"
}

echo "warming up (${WARMUP} s per topic)..."
both hot1 "$WARMUP" warm-hot1 >/dev/null
both hot2 "$WARMUP" warm-hot2 >/dev/null
accepted_hot1=0 accepted_hot2=0
# warm-up records count too (stored == answered)
for f in "$RAW"/warm-hot1.*.txt; do accepted_hot1=$((accepted_hot1 + $(awk '/requests in/ {n=$1} /Non-2xx/ {b=$NF} END {print n - b}' "$f"))); done
for f in "$RAW"/warm-hot2.*.txt; do accepted_hot2=$((accepted_hot2 + $(awk '/requests in/ {n=$1} /Non-2xx/ {b=$NF} END {print n - b}' "$f"))); done

one=() two=()
for run in $(seq 1 "$RUNS"); do
  one+=("$(both hot1 "$DUR" "hot1.run$run")")
  two+=("$(both hot2 "$DUR" "hot2.run$run")")
  accepted_hot1=$((accepted_hot1 + $(echo "${one[-1]}" | awk '{print $2}')))
  accepted_hot2=$((accepted_hot2 + $(echo "${two[-1]}" | awk '{print $2}')))
  echo "round $run: 1 shard ${one[-1]%% *} rec/s | 2 shards ${two[-1]%% *} rec/s"
done

median() { printf '%s\n' "$@" | awk '{print $1}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
m1=$(median "${one[@]}") m2=$(median "${two[@]}")
ratio=$(awk -v a="$m2" -v b="$m1" 'BEGIN {printf "%.2f", a / b}')

where() { local t=$1 s=""; for n in a b; do [ -d "$WORK/$n/segments/$t" ] && s="$s${s:+,}$n"; done; echo "${s:-none}"; }
placement="hot1 on silo $(where hot1); hot2 shard 0 on silo $(where hot2), shard 1 on silo $(where 'hot2#1')"

count() {
  local total=0 f n
  for f in "$@"; do
    [ -f "$f" ] || continue
    n=$(cd "$SILO_DIR" && dotnet Ingest.Silo.dll dump --count "$f" 2>&1 | sed -n 's/.*: \([0-9]*\) record(s).*/\1/p')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
stored1=$(count "$WORK"/{a,b}/segments/hot1/*.seg "$WORK"/{a,b}/segments/hot1/*.active)
stored2=$(count "$WORK"/{a,b}/segments/hot2/*.seg "$WORK"/{a,b}/segments/hot2/*.active "$WORK"/{a,b}/segments/hot2#1/*.seg "$WORK"/{a,b}/segments/hot2#1/*.active)
integrity=PASS
[ "$stored1" -eq $((accepted_hot1 * 100)) ] && [ "$stored2" -eq $((accepted_hot2 * 100)) ] || integrity=FAIL

{
  echo "# Cluster benchmark $STAMP"
  echo
  echo "Command: \`RUNS=$RUNS DUR=$DUR WARMUP=$WARMUP DURABILITY=$DURABILITY bench/cluster.sh\` — durability $DURABILITY, two silos on one 2-core host (Redis membership), wrk -t1 -c$CONNS on each silo's API, 100-record NDJSON batches, $RUNS alternating rounds, medians."
  echo
  echo "| figure | 1 shard (hot1) | 2 shards (hot2) | ratio |"
  echo "| --- | --- | --- | --- |"
  echo "| records/s appended, both silos' APIs | $m1 | $m2 | $ratio |"
  echo
  echo "Placement: $placement."
  echo
  echo "Integrity: stored == answered 202 × 100 for hot1 ($stored1 / $((accepted_hot1 * 100))) and hot2 ($stored2 / $((accepted_hot2 * 100))) → **$integrity**."
  echo
  echo '```'
  for i in $(seq 0 $((RUNS - 1))); do echo "round $((i + 1)): 1 shard ${one[$i]} | 2 shards ${two[$i]}   (records/s accepted_requests non2xx)"; done
  echo '```'
} > "$RESULT"
cat "$RESULT"
[ "$integrity" = PASS ]
