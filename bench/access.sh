#!/usr/bin/env bash
# Cost of the per-request access checks (producer key, topic grant, allow-list, rate limit) against
# SHA-256 of the key, single thread, medians of RUNS runs. Writes bench/results/access-<date>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
ITERATIONS=${ITERATIONS:-2000000}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
dotnet build "$ROOT/bench/AccessBench/AccessBench.csproj" -c Release -v q -nologo >/dev/null
OUT="$ROOT/bench/results/access-$STAMP.md"
mkdir -p "$ROOT/bench/results"
{
  echo "# Access checks $STAMP"
  echo
  echo "Command: \`RUNS=$RUNS ITERATIONS=$ITERATIONS bench/access.sh\`. Host: $(nproc) cores, shared; CPU pressure (PSI some avg10): $(awk -F'avg10=' '/some/ {split($2, x, " "); print x[1] "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a)."
  echo
  dotnet "$ROOT/bench/AccessBench/bin/Release/net10.0/Ingest.AccessBench.dll" "$ITERATIONS" "$RUNS"
} | tee "$OUT"
echo "written: $OUT"
