# Helpers shared by bench/run.sh and bench/compare.sh (sourced, not run). The caller sets WORK (scratch
# directory), RAW (raw output directory), THREADS (wrk threads) and SILO_DIR (a Release build of Silo),
# and declares the array PIDS (processes to stop at exit).
HZ=$(getconf CLK_TCK)

# start_silo NAME HTTP_PORT SILO_PORT GATEWAY_PORT [VAR=VALUE...]: a store-only Release silo from $SILO_DIR
start_silo() {
  local name=$1 port=$2 silo_port=$3 gateway_port=$4; shift 4
  mkdir -p "$WORK/$name-data"
  (cd "$SILO_DIR" && exec env ASPNETCORE_URLS="http://127.0.0.1:$port" Ingest__DataDirectory="$WORK/$name-data" \
    Ingest__MaxDiskBytes=$((60 * 1024 * 1024 * 1024)) Cluster__SiloPort="$silo_port" Cluster__GatewayPort="$gateway_port" \
    Logging__LogLevel__Default=Warning Kafka__Enabled=false "$@" dotnet Ingest.Silo.dll > "$WORK/$name.log" 2>&1) &
  LAST_PID=$!   # the subshell execs: this is the silo process itself
  PIDS+=("$LAST_PID")
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.5; done
  echo "silo $name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1
}

cpu_ticks() { local total=0 pid; for pid in "$@"; do [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
rss_mib() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; }

# [PIN=CPU] measure NAME URL SCRIPT BODY RECORDS_PER_REQUEST CONNS SECONDS PIDS... -> "req_s rec_s us_per_rec p50 p99 completed non2xx"
measure() {
  local name=$1 url=$2 script=$3 body=$4 per=$5 conns=$6 secs=$7; shift 7
  local threads=$(( conns < THREADS ? conns : THREADS )) out=$RAW/$name.txt c0 c1 completed non2xx
  local pin=(); [ -n "${PIN:-}" ] && pin=(taskset -c "$PIN")   # PIN=CPU: run wrk on that CPU only
  c0=$(cpu_ticks "$@")
  "${pin[@]}" wrk -t"$threads" -c"$conns" -d"$((secs + 1))s" --latency -s "$script" "$url" -- "$body" "$secs" > "$out"
  c1=$(cpu_ticks "$@")
  completed=$(awk '/requests in/ {print $1}' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  awk -v n="$completed" -v bad="$non2xx" -v per="$per" -v d="$secs" -v t=$((c1 - c0)) -v hz="$HZ" \
      -v p50="$(awk '$1=="50%" {print $2}' "$out")" -v p99="$(awk '$1=="99%" {print $2}' "$out")" \
      'BEGIN { ok = n - bad; printf "%.0f %.0f %.2f %s %s %d %d\n", n / d, ok * per / d, ok ? t / hz * 1e6 / (ok * per) : 0, p50, p99, n, bad }'
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# col ARRAY_NAME COLUMN: the median of one column of measure's lines
col() { local -n arr=$1; printf '%s\n' "${arr[@]}" | awk -v c="$2" '{print $c}' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b ? a / b : 0}'; }
psi_cpu() { awk -F'avg10=' '/some/ {split($2, x, " "); print x[1] "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a; }

# commit_histogram BASE_URL: the silo's ingest_commit_duration_seconds, summed over its topics and sync tags, from
# /metrics -> "le count" lines (cumulative), "sum S", "count N"
commit_histogram() {
  curl -sf "$1/metrics" | awk '/^ingest_commit_duration_seconds_(bucket|sum|count)[{ ]/ {
      split($0, parts, "} "); split(parts[2], v, " "); value = v[1]
      if ($0 ~ /_bucket/) { match($0, /le="[^"]*"/); b[substr($0, RSTART + 4, RLENGTH - 5)] += value }
      else if ($0 ~ /_sum/) s += value; else c += value }
    END { for (le in b) print le, b[le]; print "sum", s + 0; print "count", c + 0 }'
}
# commit_share BEFORE AFTER: the commits between two commit_histogram snapshots -> "commits=N mean_ms=M p50_le_ms=A
# p99_le_ms=B" (the p50 and p99 as the bucket bound they fall under)
commit_share() {
  awk 'NR == FNR {a[$1] = $2; next} {print $1, $2 - a[$1]}' "$1" "$2" | sort -g | awk '
    $1 == "count" {n = $2; next} $1 == "sum" {s = $2; next} {le[++k] = $1; cum[k] = $2}
    END { for (i = 1; i <= k; i++) { if (p50 == "" && cum[i] >= 0.5 * n) p50 = le[i]; if (p99 == "" && cum[i] >= 0.99 * n) p99 = le[i] }
      printf "commits=%d mean_ms=%.2f p50_le_ms=%s p99_le_ms=%s\n", n, n ? s / n * 1000 : 0, (p50 == "+Inf" ? "inf" : p50 * 1000), (p99 == "+Inf" ? "inf" : p99 * 1000) }'
}
