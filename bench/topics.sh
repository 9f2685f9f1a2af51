#!/usr/bin/env bash
# What a topic costs: idle cost against the number of topics, a trickle over many topics against one
# hot topic, and an outage of Kafka with many topics — beside the OpenResty anchor where it applies.
#
#   bench/topics.sh                    # ROUNDS=3 TRICKLE_SECONDS=30 OUTAGE_DOWN=60: about 35 minutes
#   ROUNDS=5 bench/topics.sh
#
# Every scenario runs a Release silo of its own (bench/TopicsBench starts it and an in-memory Kafka, and
# reads the silo's /proc), with Ingest:IdleTopicAfter=20 s where idleness is measured:
#   A. idle: one record to each of 20, 1,000 and 10,000 topics; once everything is shipped and every
#      topic grain let go of its segment: idle CPU over 30 s, RSS, descriptors, GET /metrics and
#      GET /v1/status times. Beside it, the anchor with the same topics: RSS, idle CPU, descriptors,
#      records it failed to store (it caches a file handle per topic per worker).
#   B. trickle: 1,000 topics at 10 records/s each vs 1 topic at 10,000 records/s (bench/LoadGen, open
#      loop), each with forwarding on and off; forwarding CPU per record = (on - off) / records;
#      202 -> Kafka latency from the silo's delivery histogram. Beside it, the reference: a plain
#      Confluent.Kafka producer (same settings) sending the same paced records to the same topics —
#      what the Kafka client alone costs per record and how late its reports come.
#   C. outage: 1,000 topics at 10 records/s each; all brokers down OUTAGE_DOWN seconds, then up: RSS each
#      second, every accepted record counted in Kafka, and how long after recovery until every topic's
#      oldest unshipped record is under 5 s old.
# Rounds of A and B are interleaved; medians are reported (the machines are shared and noisy).
# Writes bench/results/topics-<UTC date>.md and the raw lines under bench/results/raw/topics-<date>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_DIR=${ANCHOR_DIR:-$ROOT/../shared/anchors/openresty}
ROUNDS=${ROUNDS:-3} TRICKLE_SECONDS=${TRICKLE_SECONDS:-30} OUTAGE_DOWN=${OUTAGE_DOWN:-60}
# REPORT_FROM=<stamp>: write the report again from bench/results/raw/topics-<stamp>/ without measuring.
REPORT_FROM=${REPORT_FROM:-}
TOPIC_COUNTS=${TOPIC_COUNTS:-"20 1000 10000"}
WORK=$ROOT/bench/work-topics
STAMP=${REPORT_FROM:-$(date -u +%Y-%m-%dT%H%M%SZ)}
RESULT=$ROOT/bench/results/topics-$STAMP.md
RAW=$ROOT/bench/results/raw/topics-$STAMP
SILO_DIR=$ROOT/Silo/bin/Release/net10.0
BENCH="dotnet $ROOT/bench/TopicsBench/bin/Release/net10.0/Ingest.TopicsBench.dll"
LOADGEN=$ROOT/bench/LoadGen/bin/Release/net10.0/Ingest.LoadGen.dll

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

if [ -z "$REPORT_FROM" ]; then
packages=(nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-nginx-kafka)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -d "$ANCHOR_DIR" ] || { echo "anchor not found at $ANCHOR_DIR (set ANCHOR_DIR)" >&2; exit 1; }

echo "building Release..."
for project in Silo/Silo.csproj bench/TopicsBench/TopicsBench.csproj bench/LoadGen/LoadGen.csproj; do
  dotnet build "$ROOT/$project" -c Release -v q -nologo >/dev/null
done
rm -rf "$WORK" && mkdir -p "$WORK" "$RAW"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "descriptor limit: $(ulimit -n)"
HZ=$(getconf CLK_TCK)
cpu_ticks() { local total=0 pid; for pid in "$@"; do [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
rss_kib() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))); done; echo "$total"; }
fds() { local total=0 pid; for pid in "$@"; do total=$((total + $(ls "/proc/$pid/fd" | wc -l))); done; echo "$total"; }

# anchor_idle TOPICS: the OpenResty design with one record to each topic -> "rss_mib cpu_ms_s fds failed"
anchor_idle() {
  local topics=$1 prefix=$WORK/anchor-$1
  rm -rf "$prefix" && mkdir -p "$prefix"
  ANCHOR_PREFIX=$prefix COLLECT_DATA_DIR=$prefix/var/data "$ANCHOR_DIR/run.sh" start >/dev/null
  local master pids posted c0 c1
  master=$(cat "$prefix/var/nginx.pid")
  pids="$master $(pgrep -P "$master" | tr '\n' ' ')"
  posted=$($BENCH post "http://127.0.0.1:18080/collect/{topic}" "$topics" | field posted)
  sleep 10
  c0=$(cpu_ticks $pids); sleep 30; c1=$(cpu_ticks $pids)
  local rss fd errors
  rss=$(( $(rss_kib $pids) / 1024 )); fd=$(fds $pids)
  errors=$(grep -c "Too many open files" "$prefix/var/logs/error.log" 2>/dev/null || true)
  ANCHOR_PREFIX=$prefix "$ANCHOR_DIR/run.sh" stop >/dev/null 2>&1 || true
  echo "scenario=anchor-idle topics=$topics stored=$posted failed=$((topics - posted)) emfile_errors=${errors:-0} rss_mib=$rss fds=$fd idle_cpu_ms_per_s=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz * 1000 / 30}')"
}

echo "A/B. $ROUNDS interleaved rounds"
for round in $(seq 1 "$ROUNDS"); do
  for n in $TOPIC_COUNTS; do
    rm -rf "$WORK/silo" && mkdir -p "$WORK/silo"
    $BENCH idle "$SILO_DIR" "$WORK/silo" "$n" | tee -a "$RAW/idle.txt"
    anchor_idle "$n" | tee -a "$RAW/anchor-idle.txt"
  done
  for case in "1000 10" "1 10000"; do
    for forward in on off; do
      rm -rf "$WORK/silo" && mkdir -p "$WORK/silo"
      # shellcheck disable=SC2086
      $BENCH trickle "$SILO_DIR" "$WORK/silo" "$LOADGEN" $case "$TRICKLE_SECONDS" "$forward" | tee -a "$RAW/trickle.txt"
    done
    # shellcheck disable=SC2086
    $BENCH producer $case "$TRICKLE_SECONDS" | tee -a "$RAW/producer.txt"
  done
done

echo "C. outage"
rm -rf "$WORK/silo" && mkdir -p "$WORK/silo"
$BENCH outage "$SILO_DIR" "$WORK/silo" "$LOADGEN" 1000 10 "$OUTAGE_DOWN" 2> "$RAW/outage-recovery.txt" | tee "$RAW/outage.txt" || echo "outage: some records missing in Kafka" | tee -a "$RAW/outage.txt"

fi

# ---- report
idle() { grep " topics=$1 " "$RAW/idle.txt" | field "$2" | median; }
aidle() { grep " topics=$1 " "$RAW/anchor-idle.txt" | field "$2" | median; }
trickle() { grep "topics=$1 " "$RAW/trickle.txt" | grep "forward=$2" | field "$3" | median; }
plain() { grep "topics=$1 " "$RAW/producer.txt" | field "$2" | median; }
lo=$(echo $TOPIC_COUNTS | awk '{print $1}'); hi=$(echo $TOPIC_COUNTS | awk '{print $NF}')
fwd() { awk -v on="$(trickle "$1" on cpu_us_per_record)" -v off="$(trickle "$1" off cpu_us_per_record)" 'BEGIN {printf "%.2f", on - off}'; }
{
  echo "# Cost per topic, $STAMP"
  echo
  echo "\`ROUNDS=$ROUNDS TRICKLE_SECONDS=$TRICKLE_SECONDS OUTAGE_DOWN=$OUTAGE_DOWN bench/topics.sh\`; medians of $ROUNDS interleaved rounds; PSI CPU pressure at the end: $(awk -F'avg10=' '/some/ {split($2, x, " "); print x[1] "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a); descriptor limit $(ulimit -n)."
  echo
  echo "## A. Idle cost (one record to each topic, everything shipped, topic grains idle)"
  echo
  echo "| topics | idle CPU ms/s | RSS MiB | descriptors | /metrics ms | /v1/status ms | anchor RSS MiB | anchor idle CPU ms/s | anchor descriptors | anchor failed to store |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for n in $TOPIC_COUNTS; do
    echo "| $n | $(idle "$n" idle_cpu_ms_per_s) | $(idle "$n" rss_mib) | $(idle "$n" fds) | $(idle "$n" metrics_ms) | $(idle "$n" status_ms) | $(aidle "$n" rss_mib) | $(aidle "$n" idle_cpu_ms_per_s) | $(aidle "$n" fds) | $(aidle "$n" failed) |"
  done
  echo
  cpu_delta=$(awk -v a="$(idle "$hi" idle_cpu_ms_per_s)" -v b="$(idle "$lo" idle_cpu_ms_per_s)" 'BEGIN {printf "%.1f", a - b}')
  rss_per=$(awk -v a="$(idle "$hi" rss_mib)" -v b="$(idle "$lo" rss_mib)" -v n="$hi" -v m="$lo" 'BEGIN {printf "%.1f", (a - b) * 1024 / (n - m)}')
  fd_delta=$(awk -v a="$(idle "$hi" fds)" -v b="$(idle "$lo" fds)" 'BEGIN {print a - b}')
  echo "| $hi vs $lo topics | measured | target |"
  echo "| --- | --- | --- |"
  echo "| idle CPU | $(awk -v d="$cpu_delta" 'BEGIN {printf "%+.1f", d}') ms/s | ≤ +10 ms/s: $(awk -v d="$cpu_delta" 'BEGIN {print (d <= 10 ? "met" : "**not met**")}') |"
  echo "| RSS per topic | +$rss_per KiB | ≤ +32 KiB: $(awk -v d="$rss_per" 'BEGIN {print (d <= 32 ? "met" : "**not met**")}') |"
  echo "| descriptors | +$fd_delta | ≤ +100: $(awk -v d="$fd_delta" 'BEGIN {print (d <= 100 ? "met" : "**not met**")}') |"
  echo "| /metrics at $hi topics | $(idle "$hi" metrics_ms) ms | ≤ 100 ms: $(awk -v d="$(idle "$hi" metrics_ms)" 'BEGIN {print (d <= 100 ? "met" : "**not met**")}') |"
  echo
  echo "## B. Trickle: 1,000 topics × 10 records/s vs 1 topic × 10,000 records/s (${TRICKLE_SECONDS} s each)"
  echo
  echo "| case | silo CPU µs/record, forwarding on | off | forwarding µs/record | 202 → Kafka p50 ≤ | p99 ≤ | share ≤ 1 s |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for n in 1000 1; do
    echo "| $n topic(s) | $(trickle "$n" on cpu_us_per_record) | $(trickle "$n" off cpu_us_per_record) | $(fwd "$n") | $(trickle "$n" on delivery_p50_le_s) s | $(trickle "$n" on delivery_p99_le_s) s | $(trickle "$n" on delivery_le_1s) |"
  done
  echo
  ratio=$(awk -v a="$(fwd 1000)" -v b="$(fwd 1)" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  echo "Forwarding CPU per record, trickle / single topic: **$ratio** (target ≤ 1.5: $(awk -v r="$ratio" 'BEGIN {print (r <= 1.5 ? "met" : "**not met**")}'))."
  echo
  echo "The reference, same run: a plain Confluent.Kafka producer (idempotent, acks=all, lz4, linger 5 ms) sending the same paced records to the same topics, in a process of its own:"
  echo
  echo "| case | plain producer CPU µs/record | its report latency p50 | p99 | Ingest's forwarding µs/record ÷ the plain producer's |"
  echo "| --- | --- | --- | --- | --- |"
  for n in 1000 1; do
    echo "| $n topic(s) | $(plain "$n" cpu_us_per_record) | $(plain "$n" delivery_p50_ms) ms | $(plain "$n" delivery_p99_ms) ms | $(awk -v a="$(fwd "$n")" -v b="$(plain "$n" cpu_us_per_record)" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') |"
  done
  echo
  pratio=$(awk -v a="$(plain 1000 cpu_us_per_record)" -v b="$(plain 1 cpu_us_per_record)" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}')
  echo "The plain producer's own trickle / single-topic ratio: **$pratio**."
  echo
  echo "## C. Outage: 1,000 topics × 10 records/s, all brokers down ${OUTAGE_DOWN} s"
  echo
  out() { grep '^scenario=outage' "$RAW/outage.txt" | field "$1" | head -n 1; }
  if grep -q '^scenario=outage' "$RAW/outage.txt"; then
    echo "| figure | measured | target |"
    echo "| --- | --- | --- |"
    echo "| records in Kafka | $(out in_kafka) of $(out accepted) accepted ($(out topics_short) topics short) | all: $( [ "$(out topics_short)" = 0 ] && echo met || echo '**not met**') |"
    echo "| RSS during the outage, max | $(out rss_outage_max_mib) MiB (before it $(out rss_before_mib), at start $(out rss_base_mib); backlog at recovery $(out backlog_at_recovery_mib) MiB) | ≤ 512 MiB per silo (bench/README.md, cost model) and ≤ 570 MiB (before issue 15): $(awk -v r="$(out rss_outage_max_mib)" 'BEGIN {print (r <= 512 ? "met" : "**not met**")}') |"
    echo "| RSS at any time, max (recovery included) | $(out rss_max_mib) MiB | ≤ 512 MiB: $(awk -v r="$(out rss_max_mib)" 'BEGIN {print (r <= 512 ? "met" : "**not met**")}') |"
    echo "| every topic's oldest unshipped record under 5 s | $(out fair_after_s) s after recovery (worst topic's oldest at 30 s: $(out oldest_age_at_30s) s) | ≤ 30 s: $(awk -v f="$(out fair_after_s)" 'BEGIN {print (f != "never" && f + 0 <= 30 ? "met" : "**not met**")}') |"
    echo
  fi
  echo '```'
  cat "$RAW/outage.txt"
  echo '```'
  echo
  echo "Raw lines: \`results/raw/topics-$STAMP/\`."
} > "$RESULT"
cat "$RESULT"
