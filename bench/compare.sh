#!/usr/bin/env bash
# Ingest against an earlier revision of itself, in the same run on the same machine: single POST
# (Flush, wrk -t2 -c64, the anchor's 200-byte body) req/s and server CPU per request, and 100-record
# NDJSON batches records/s and CPU per record. RUNS interleaved rounds (the order alternates), medians.
# For "did this change cost anything": absolute numbers move between sessions on these shared
# machines, a same-run ratio does not.
#
#   bench/compare.sh [BASE_REV]    # default 792dde2: the code of bench/README's 2026-11-23T024933Z table
#   RUNS=7 bench/compare.sh HEAD~3
#   BASE_SETTINGS="Dashboard__Enabled=false" bench/compare.sh HEAD   # one setting, same code
#
# The base is checked out in a git worktree under bench/work-compare and built in Release beside this
# checkout (as it is on disk, uncommitted changes included). BASE_SETTINGS and HEAD_SETTINGS add
# VAR=VALUE settings (space-separated) to one side's silo. Writes bench/results/compare-<date>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_DIR=${ANCHOR_DIR:-$ROOT/../shared/anchors/openresty}
BASE=${1:-792dde2}
RUNS=${RUNS:-5} DUR=${DUR:-8} CONNS=${CONNS:-64} THREADS=${THREADS:-2} WARMUP=${WARMUP:-15}
WORK=$ROOT/bench/work-compare
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RESULT=$ROOT/bench/results/compare-$STAMP.md
RAW=$ROOT/bench/results/raw/compare-$STAMP
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
[ -f "$ANCHOR_DIR/bench/body.json" ] || { echo "the anchor's body.json not found under $ANCHOR_DIR (set ANCHOR_DIR)" >&2; exit 1; }
BODY=$ANCHOR_DIR/bench/body.json
POST=$ANCHOR_DIR/bench/post.lua
BATCH_LUA=$ROOT/bench/batch.lua
base_commit=$(git -C "$ROOT" rev-parse --short "$BASE")
head_commit=$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ':!bench/results' || echo "+changes")

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for log in "$WORK"/*.log; do [ -f "$log" ] && cp "$log" "$RAW/"; done
  git -C "$ROOT" worktree remove --force "$WORK/base" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
rm -rf "$WORK" && git -C "$ROOT" worktree prune && mkdir -p "$WORK" "$RAW"
for _ in $(seq 1 100); do cat "$BODY"; echo; done > "$WORK/batch-100.ndjson"

echo "building Release: this checkout ($head_commit) and $BASE ($base_commit)..."
git -C "$ROOT" worktree add --detach -q "$WORK/base" "$BASE"
dotnet build "$ROOT/Silo/Silo.csproj" -c Release -v q -nologo >/dev/null
dotnet build "$WORK/base/Silo/Silo.csproj" -c Release -v q -nologo >/dev/null

SILO_DIR=$ROOT/Silo/bin/Release/net10.0
# shellcheck disable=SC2086
start_silo head 18091 21121 31010 Ingest__MaxConcurrentRequests=256 ${HEAD_SETTINGS:-}
HEAD_PID=$LAST_PID
SILO_DIR=$WORK/base/Silo/bin/Release/net10.0
# shellcheck disable=SC2086
start_silo base 18092 21122 31011 Ingest__MaxConcurrentRequests=256 ${BASE_SETTINGS:-}
BASE_PID=$LAST_PID
url() { echo "http://127.0.0.1:$([ "$1" = head ] && echo 18091 || echo 18092)/v1/topics/$2"; }
pid_of() { [ "$1" = head ] && echo "$HEAD_PID" || echo "$BASE_PID"; }

echo "warming up (${WARMUP} s per silo and kind of request)..."
for side in head base; do
  wrk -t2 -c64 -d"${WARMUP}s" -s "$POST" "$(url "$side" warmup)" -- "$BODY" >/dev/null
  wrk -t2 -c64 -d"${WARMUP}s" -s "$BATCH_LUA" "$(url "$side" warmup-batch)/batch" -- "$WORK/batch-100.ndjson" >/dev/null
done

declare -a HS HB BS BB
for run in $(seq 1 "$RUNS"); do
  order=(head base); [ $((run % 2)) -eq 0 ] && order=(base head)
  for side in "${order[@]}"; do
    single=$(measure "$side-single.run$run" "$(url "$side" bench)" "$POST" "$BODY" 1 "$CONNS" "$DUR" "$(pid_of "$side")")
    batch=$(measure "$side-batch.run$run" "$(url "$side" bench-batch)/batch" "$BATCH_LUA" "$WORK/batch-100.ndjson" 100 "$CONNS" "$DUR" "$(pid_of "$side")")
    if [ "$side" = head ]; then HS+=("$single"); HB+=("$batch"); else BS+=("$single"); BB+=("$batch"); fi
    echo "round $run $side: single $single | batch $batch"
  done
done

row() { echo "| $1 | $2 | $3 | $(ratio "$3" "$2") |"; }
{
  echo "# Revision comparison $STAMP"
  echo
  echo "Command: \`RUNS=$RUNS DUR=$DUR BASE_SETTINGS=\"${BASE_SETTINGS:-}\" HEAD_SETTINGS=\"${HEAD_SETTINGS:-}\" bench/compare.sh $BASE\`: this checkout ($head_commit) against $base_commit, both Release, store-only, Flush, \`Ingest:MaxConcurrentRequests=256\`; wrk -t$THREADS -c$CONNS, ${DUR} s + 1 s drain, $RUNS interleaved rounds, medians."
  echo "Host: $(nproc) cores, shared; CPU pressure at the end (PSI some avg10): $(psi_cpu)."
  echo
  echo "| figure | base $base_commit | this checkout | ratio |"
  echo "| --- | --- | --- | --- |"
  row "single POST, req/s" "$(col BS 1)" "$(col HS 1)"
  row "single POST, server CPU µs per request" "$(col BS 3)" "$(col HS 3)"
  row "100-record batches, records/s" "$(col BB 2)" "$(col HB 2)"
  row "100-record batches, server CPU µs per record" "$(col BB 3)" "$(col HB 3)"
  echo
  echo "Per round (req/s, records/s, µs CPU/record, p50, p99, completed, non-2xx):"
  echo
  echo '```'
  for run in $(seq 1 "$RUNS"); do
    i=$((run - 1))
    echo "round $run: base single ${BS[$i]} | head single ${HS[$i]} | base batch ${BB[$i]} | head batch ${HB[$i]}"
  done
  echo '```'
} | tee "$RESULT"
echo "written: $RESULT"
