#!/usr/bin/env bash
# Runs every test of Ingest on a fresh machine: installs what the tests need when it is missing,
# builds, runs the suite, and ends with one line "N passed, N failed" (", N skipped" if any),
# counted from the test results (TRX), not from the console.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the tests use. Installed only when missing.
# iproute2, nftables and curl: the partition tests put hosts in network namespaces (Tests/Infrastructure/TestNetwork.cs).
PACKAGES=(kcat redis-server docker-compose chromium strace iproute2 nftables curl)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# kubectl (client-side checks of deploy/k8s): any kubectl will do; Debian packages it as kubernetes-client.
command -v kubectl >/dev/null || missing+=(kubernetes-client)
# systemd-analyze verify checks deploy/systemd (no systemd needs to run).
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is required"; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The whole solution (benchmarks included) must build, not only what the tests reference.
if ! dotnet build Ingest.sln -c Debug -v q -nologo; then
  echo "test.sh: the solution does not build"
  echo "0 passed, 1 failed"
  exit 1
fi

set +e
dotnet test --solution Ingest.sln -c Debug --report-trx --results-directory "$results" --timeout 25m "$@"
status=$?
set -e

passed=0 failed=0 skipped=0 total=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  attr() { local v; v=$(echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"); echo "${v:-0}"; }
  total=$((total + $(attr total)))
  passed=$((passed + $(attr passed)))
  failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
  skipped=$((skipped + $(attr notExecuted)))
done

if [ "$total" -eq 0 ]; then
  echo "test.sh: no test results were written (dotnet test exited $status)"
  echo "0 passed, 1 failed"
  exit 1
fi

# Name each failed test and the start of its message, so that the tail of the output says what broke.
if [ "$failed" -gt 0 ] && command -v python3 >/dev/null; then
  python3 - "$results"/*.trx <<'PY' || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in sys.argv[1:]:
    for result in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        if result.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
            continue
        message = result.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=ns).strip()
        print(f"FAILED {result.get('testName')} ({result.get('duration')})")
        for text in message.splitlines()[:12]:
            print(f"    {text[:300]}")
PY
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
