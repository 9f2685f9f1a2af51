#!/usr/bin/env bash
# What asking for more costs, in one run on one machine: durability=kafka against the default (flush) for
# single records and 100-record NDJSON batches (req/s, records/s, wrk's p50/p99 at 64 connections and at 4),
# and an Idempotency-Key on every request against none (req/s and server CPU per request). One silo that
# forwards to a development broker of its own process (dev-kafka); every figure is the median of RUNS
# interleaved rounds; ratios are what to read.
#
#   bench/durability.sh            # RUNS=5 DUR=8 WARMUP=15: about 9 minutes
#
# Writes bench/results/durability-<date>.md (raw wrk output under bench/results/raw/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_DIR=${ANCHOR_DIR:-$ROOT/../shared/anchors/openresty}
RUNS=${RUNS:-5} DUR=${DUR:-8} THREADS=${THREADS:-2} WARMUP=${WARMUP:-15}
WORK=$ROOT/bench/work-durability
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RESULT=$ROOT/bench/results/durability-$STAMP.md
RAW=$ROOT/bench/results/raw/durability-$STAMP
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
[ -f "$ANCHOR_DIR/bench/body.json" ] || { echo "the anchor's body.json not found under $ANCHOR_DIR (set ANCHOR_DIR)" >&2; exit 1; }
BODY=$ANCHOR_DIR/bench/body.json
POST=$ANCHOR_DIR/bench/post.lua
BATCH_LUA=$ROOT/bench/batch.lua
IDEM_LUA=$ROOT/bench/idem.lua

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for log in "$WORK"/*.log; do [ -f "$log" ] && cp "$log" "$RAW/"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
rm -rf "$WORK" && mkdir -p "$WORK" "$RAW"
for _ in $(seq 1 100); do cat "$BODY"; echo; done > "$WORK/batch-100.ndjson"

echo "building Release..."
dotnet build "$ROOT/Silo/Silo.csproj" -c Release -v q -nologo >/dev/null
SILO_DIR=$ROOT/Silo/bin/Release/net10.0
(cd "$SILO_DIR" && exec dotnet Ingest.Silo.dll dev-kafka --port 19391 > "$WORK/broker.log" 2>&1) &
PIDS+=("$!")
for _ in $(seq 1 60); do (echo > /dev/tcp/127.0.0.1/19391) 2>/dev/null && break; sleep 0.5; done
start_silo silo 18095 21131 31020 Kafka__Enabled=true Kafka__BootstrapServers=127.0.0.1:19391 Ingest__MaxConcurrentRequests=256
SILO=$LAST_PID
base=http://127.0.0.1:18095/v1/topics

echo "warming up (${WARMUP} s per kind)..."
for kind in "warm $POST $BODY" "warm?durability=kafka $POST $BODY" "warm-b/batch?durability=kafka $BATCH_LUA $WORK/batch-100.ndjson" "warm-i $IDEM_LUA $BODY"; do
  read -r path script body <<< "$kind"
  wrk -t2 -c64 -d"${WARMUP}s" -s "$script" "$base/$path" -- "$body" >/dev/null
done

declare -a flush kafka bflush bkafka idem flush4 kafka4
for round in $(seq 1 "$RUNS"); do
  echo "round $round/$RUNS"
  # Interleaved, the order reversed every other round, so a drift of the machine falls on both sides.
  kinds=(flush kafka bflush bkafka idem flush4 kafka4)
  [ $((round % 2)) -eq 0 ] && kinds=(kafka4 flush4 idem bkafka bflush kafka flush)
  for kind in "${kinds[@]}"; do
    case $kind in
      flush)  flush+=("$(measure "flush-$round" "$base/d-flush" "$POST" "$BODY" 1 64 "$DUR" "$SILO")") ;;
      kafka)  kafka+=("$(measure "kafka-$round" "$base/d-kafka?durability=kafka" "$POST" "$BODY" 1 64 "$DUR" "$SILO")") ;;
      bflush) bflush+=("$(measure "bflush-$round" "$base/d-bflush/batch" "$BATCH_LUA" "$WORK/batch-100.ndjson" 100 64 "$DUR" "$SILO")") ;;
      bkafka) bkafka+=("$(measure "bkafka-$round" "$base/d-bkafka/batch?durability=kafka" "$BATCH_LUA" "$WORK/batch-100.ndjson" 100 64 "$DUR" "$SILO")") ;;
      idem)   idem+=("$(measure "idem-$round" "$base/d-idem" "$IDEM_LUA" "$BODY" 1 64 "$DUR" "$SILO")") ;;
      flush4) flush4+=("$(measure "flush4-$round" "$base/d-flush4" "$POST" "$BODY" 1 4 "$DUR" "$SILO")") ;;
      kafka4) kafka4+=("$(measure "kafka4-$round" "$base/d-kafka4?durability=kafka" "$POST" "$BODY" 1 4 "$DUR" "$SILO")") ;;
    esac
  done
done

# Every request was answered 2xx (measure counts non-2xx): a 503 or 400 would make the figures meaningless.
for arr in flush kafka bflush bkafka idem flush4 kafka4; do
  bad=$(col "$arr" 7)
  [ "${bad%.*}" = 0 ] || { echo "$arr: median $bad non-2xx answers per round" >&2; exit 1; }
done
# durability=kafka answered 201 while the broker was up: the rounds measured the wait for Kafka, not a fallback.
kafka_201=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/d-check?durability=kafka" --data-binary @"$BODY")
[ "$kafka_201" = 201 ] || { echo "durability=kafka answered $kafka_201, not 201" >&2; exit 1; }

m() { col "$1" "$2"; }
{
  echo "# durability=kafka and Idempotency-Key: $STAMP"
  echo
  echo "Command: \`RUNS=$RUNS DUR=$DUR bench/durability.sh\` on $(git -C "$ROOT" rev-parse --short HEAD) — one silo forwarding to a dev-kafka broker"
  echo "(its own process, topics created on first use), wrk -t$THREADS, ${DUR} s send window + 1 s drain, $RUNS interleaved rounds (order reversed every"
  echo "other round), medians. Server CPU is the silo's (utime + stime, forwarding included). Host CPU pressure at the end: $(psi_cpu)."
  echo
  echo "| figure | flush (default) | kafka | ratio kafka / flush |"
  echo "| --- | --- | --- | --- |"
  echo "| single POST, 64 conns, req/s | $(m flush 1) | $(m kafka 1) | $(ratio "$(m kafka 1)" "$(m flush 1)") |"
  echo "| single POST, 64 conns, p50 / p99 | $(m flush 4) / $(m flush 5) | $(m kafka 4) / $(m kafka 5) | |"
  echo "| single POST, 4 conns, req/s | $(m flush4 1) | $(m kafka4 1) | $(ratio "$(m kafka4 1)" "$(m flush4 1)") |"
  echo "| single POST, 4 conns, p50 / p99 | $(m flush4 4) / $(m flush4 5) | $(m kafka4 4) / $(m kafka4 5) | |"
  echo "| 100-record batches, 64 conns, records/s | $(m bflush 2) | $(m bkafka 2) | $(ratio "$(m bkafka 2)" "$(m bflush 2)") |"
  echo "| 100-record batches, p50 / p99 | $(m bflush 4) / $(m bflush 5) | $(m bkafka 4) / $(m bkafka 5) | |"
  echo "| server CPU per record, µs (single / batch) | $(m flush 3) / $(m bflush 3) | $(m kafka 3) / $(m bkafka 3) | |"
  echo
  echo "| figure | no key | Idempotency-Key on every request | ratio |"
  echo "| --- | --- | --- | --- |"
  echo "| single POST, 64 conns, req/s | $(m flush 1) | $(m idem 1) | $(ratio "$(m idem 1)" "$(m flush 1)") |"
  echo "| server CPU per request, µs | $(m flush 3) | $(m idem 3) | $(ratio "$(m idem 3)" "$(m flush 3)") (target ≤ 1.05) |"
} | tee "$RESULT"
