#!/usr/bin/env bash
# The chaos soak, long: ROUNDS rounds (default 20, about 28 minutes: 10 rounds took 14) of SIGKILL +
# restart of each silo, a Kafka outage and injected produce errors, under a mixed load. CI runs one
# round (./test.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-20}
dotnet build "$ROOT/Ingest.sln" -c Release -v q -nologo >/dev/null
cd "$ROOT"
INGEST_SOAK_ROUNDS=$ROUNDS "Tests/bin/Release/net10.0/Ingest.Tests" \
  --filter-class Ingest.Tests.Chaos.ChaosSoakTests --xunit-diagnostics on --show-live-output on
