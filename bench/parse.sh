#!/usr/bin/env bash
# Cost of checking NDJSON lines (Api/Parsing/JsonSyntax.cs) beside System.Text.Json's Utf8JsonReader,
# and of parsing a 100-line batch with and without the check; one thread, medians of RUNS runs.
# Writes bench/results/parse-<date>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_DIR=${ANCHOR_DIR:-$ROOT/../shared/anchors/openresty}
RUNS=${RUNS:-5}
ITERATIONS=${ITERATIONS:-1000000}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
dotnet build "$ROOT/bench/ParseBench/ParseBench.csproj" -c Release -v q -nologo >/dev/null
OUT="$ROOT/bench/results/parse-$STAMP.md"
mkdir -p "$ROOT/bench/results"
body=()
[ -f "$ANCHOR_DIR/bench/body.json" ] && body=("$ANCHOR_DIR/bench/body.json")
{
  echo "# NDJSON line checks $STAMP"
  echo
  echo "Command: \`RUNS=$RUNS ITERATIONS=$ITERATIONS bench/parse.sh\` on $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- Api || echo '+changes'). Host: $(nproc) cores, shared; CPU pressure (PSI some avg10): $(awk -F'avg10=' '/some/ {split($2, x, " "); print x[1] "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a)."
  echo
  dotnet "$ROOT/bench/ParseBench/bin/Release/net10.0/Ingest.ParseBench.dll" "$ITERATIONS" "$RUNS" "${body[@]}"
} | tee "$OUT"
echo "written: $OUT"
