#!/usr/bin/env bash
# The partition soak, long: ROUNDS rounds (default 5, about 2.5 minutes each) of every fault between hosts
# (full cut, peers only, Redis only, Kafka only, 20 % loss, a 1 Mbit/s link) under load. CI runs one round
# (./test.sh). Needs root (network namespaces), iproute2, nftables and curl, which ./test.sh installs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
dotnet build "$ROOT/Ingest.sln" -c Release -v q -nologo >/dev/null
cd "$ROOT"
INGEST_PARTITION_ROUNDS=$ROUNDS "Tests/bin/Release/net10.0/Ingest.Tests" \
  --filter-class Ingest.Tests.Chaos.PartitionSoakTests --xunit-diagnostics on --show-live-output on
