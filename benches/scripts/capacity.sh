#!/usr/bin/env bash
# Ingestion capacity on this machine: one victoria-metrics fed by two Prometheus agents (shards
# by hashmod) and, in the same run, one Prometheus server, all scraping the same synthetic
# service instances (benches/src/bin/capacity_targets.rs: the real http_server_* families and
# exporter, ROUTES x METHODS x STATUSES label sets each, values changing every second). For each
# step of instances it warms up, then measures over DURATION: samples/s ingested by each store
# (VM: vm_rows_inserted_total; Prometheus: prometheus_tsdb_head_samples_appended_total), what the
# agents sent, CPU (cores, from /proc/PID/stat) and RSS of every process, the slowest scrape,
# and prints a table. The window starts once both stores hold every series (creating them is the
# costly part), or after WARMUP_MAX. Loopback only; every process is stopped on exit. By hand.
#   usage: benches/scripts/capacity.sh [--help]
#   env: STEPS="10 20 30 40" (instances per step), ROUTES=50 METHODS=4 STATUSES=5, INTERVAL=10
#        (scrape interval, s), WARMUP_MAX=150, DURATION=60 (s per step)
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-"10 20 30 40"}
ROUTES=${ROUTES:-50}
METHODS=${METHODS:-4}
STATUSES=${STATUSES:-5}
INTERVAL=${INTERVAL:-10}
WARMUP_MAX=${WARMUP_MAX:-150}
DURATION=${DURATION:-60}
for binary in prometheus victoria-metrics curl python3; do
  command -v "$binary" >/dev/null || { echo "needs $binary (scripts/install-test-deps.sh)" >&2; exit 1; }
done
cargo build -q --release -p benches --bin capacity_targets
targets_bin=target/release/capacity_targets
work=$(mktemp -d)
pids=()
# Stops what this script started; agents flushing to a store that is gone get 5 s, then SIGKILL.
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
# A sleep the traps interrupt.
nap() { sleep "$1" & wait $!; }
tick=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { for _ in $(seq 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
# CPU seconds (user + system) and RSS in MB of a process.
cpu_of() { awk -v t="$tick" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
rss_of() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# The sum of every sample of metric $2 in the /metrics of $1.
metric_sum() { curl -fs "$1/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {printf "%.0f", s}'; }
query() {
  curl -fs "$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'
}

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
  "$(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(prometheus --version 2>&1 | head -1); victoria-metrics $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null || echo '?')"
echo "each instance: $ROUTES routes x $METHODS methods x $STATUSES statuses; scrape interval ${INTERVAL}s"

results=()
for instances in $STEPS; do
  "$targets_bin" "$instances" "$ROUTES" "$METHODS" "$STATUSES" >"$work/targets.txt" &
  targets_pid=$!
  pids+=("$targets_pid")
  for _ in $(seq 600); do grep -q '^ready$' "$work/targets.txt" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready$' "$work/targets.txt" || { echo "targets did not start" >&2; exit 1; }
  list=$(grep -v '^ready$' "$work/targets.txt" | sed "s/.*/'&'/" | paste -sd, -)
  first=$(head -1 "$work/targets.txt")
  # Series a store keeps per instance: what Prometheus 2.x stores of one scrape, and its 5
  # report series (up, scrape_*).
  per_instance=$(( $(curl -fs -H 'Accept: application/openmetrics-text;version=1.0.0' "http://$first/metrics" |
    grep -cv '^#') + 5 ))

  vm_port=$(free_port)
  vm="http://127.0.0.1:$vm_port"
  victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$work/vm-$instances" \
    -retentionPeriod=1d -loggerLevel=ERROR >"$work/vm.log" 2>&1 &
  vm_pid=$!
  pids+=("$vm_pid")
  wait_ok "$vm/health"

  agent_pids=()
  agent_urls=()
  for shard in 0 1; do
    port=$(free_port)
    cat >"$work/agent-$shard.yml" <<YAML
global: {scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s}
scrape_configs:
  - job_name: capacity
    static_configs: [{targets: [$list]}]
    relabel_configs:
      - {source_labels: [__address__], modulus: 2, target_label: __tmp_shard, action: hashmod}
      - {source_labels: [__tmp_shard], regex: "$shard", action: keep}
remote_write:
  - url: $vm/api/v1/write
YAML
    prometheus --enable-feature=agent --config.file="$work/agent-$shard.yml" \
      --storage.agent.path="$work/agent-$shard-$instances" --web.listen-address="127.0.0.1:$port" \
      --log.level=error >"$work/agent-$shard.log" 2>&1 &
    agent_pids+=($!)
    pids+=($!)
    agent_urls+=("http://127.0.0.1:$port")
  done
  port=$(free_port)
  prom="http://127.0.0.1:$port"
  cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s}
scrape_configs:
  - job_name: capacity
    static_configs: [{targets: [$list]}]
YAML
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom-$instances" \
    --web.listen-address="127.0.0.1:$port" --log.level=error >"$work/prometheus.log" 2>&1 &
  prom_pid=$!
  pids+=("$prom_pid")
  for url in "${agent_urls[@]}" "$prom"; do wait_ok "$url/-/ready"; done
  # Warm-up: until both stores hold every series, then two more intervals.
  waited=0
  while [ "$waited" -lt "$WARMUP_MAX" ]; do
    [ "$(metric_sum "$vm" vm_new_timeseries_created_total)" -ge $((instances * per_instance)) ] &&
      [ "$(metric_sum "$prom" prometheus_tsdb_head_series)" -ge $((instances * per_instance)) ] && break
    nap 5
    waited=$((waited + 5))
  done
  [ "$waited" -lt "$WARMUP_MAX" ] || echo "step $instances: not every series stored after ${WARMUP_MAX}s" >&2
  nap $((2 * INTERVAL))

  # Counters and CPU at the start and the end of the window.
  read_all() {
    echo "$(metric_sum "$vm" vm_rows_inserted_total) $(metric_sum "$prom" prometheus_tsdb_head_samples_appended_total)" \
      "$(( $(metric_sum "${agent_urls[0]}" prometheus_remote_storage_samples_total) + \
           $(metric_sum "${agent_urls[1]}" prometheus_remote_storage_samples_total) ))" \
      "$(cpu_of "$vm_pid") $(cpu_of "$prom_pid") $(cpu_of "${agent_pids[0]}") $(cpu_of "${agent_pids[1]}") $(cpu_of "$targets_pid")" \
      "$(date +%s.%N)"
  }
  start=$(read_all)
  nap "$DURATION"
  end=$(read_all)
  scrape_max=$(query "$prom" "max(max_over_time(scrape_duration_seconds[${DURATION}s]))")
  series_prom=$(metric_sum "$prom" prometheus_tsdb_head_series)
  series_vm=$(metric_sum "$vm" vm_new_timeseries_created_total)
  agent_lag=$(for url in "${agent_urls[@]}"; do curl -fs "$url/metrics"; done |
    awk '$1 ~ /^prometheus_remote_storage_samples_pending/ {s += $2} END {print s + 0}')
  rss="$(rss_of "$vm_pid") $(rss_of "$prom_pid") $(( $(rss_of "${agent_pids[0]}") + $(rss_of "${agent_pids[1]}") ))"
  line=$(python3 - "$instances" "$INTERVAL" "$per_instance" "$start" "$end" "$rss" "$scrape_max" "$series_prom" "$series_vm" "$agent_lag" <<'PY'
import sys
n, interval, per = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
a = [float(x) for x in sys.argv[4].split()]
b = [float(x) for x in sys.argv[5].split()]
rss = sys.argv[6].split()
dt = b[8] - a[8]
vm, prom, sent = ((b[i] - a[i]) / dt for i in range(3))
cpu = [(b[i] - a[i]) / dt for i in range(3, 8)]
agents = cpu[2] + cpu[3]
expected = n * per / interval
print(f"| {n} | {expected:,.0f} | {vm:,.0f} | {cpu[0]:.2f} | {rss[0]} | {sent:,.0f} | {agents:.2f} | {rss[2]} "
      f"| {prom:,.0f} | {cpu[1]:.2f} | {rss[1]} | {float(sys.argv[7]):.2f} | {cpu[4]:.2f} "
      f"| {vm / cpu[0] / 1000:,.0f}k | {(vm / (cpu[0] + agents)) / 1000:,.0f}k | {prom / cpu[1] / 1000:,.0f}k "
      f"| {float(sys.argv[8]):,.0f} / {float(sys.argv[9]):,.0f} | {float(sys.argv[10]):,.0f} |")
PY
)
  results+=("$line")
  echo "$line"
  stop_all
  rm -rf "$work"/vm-* "$work"/agent-*-* "$work"/prom-*
done

echo
echo "series per instance stored: $per_instance"
echo "| instances | expected samples/s | VM samples/s | VM cores | VM RSS MB | agents sent/s | agents cores (2) | agents RSS MB (2) | Prometheus samples/s | Prometheus cores | Prometheus RSS MB | slowest scrape s | targets cores | VM samples/s per core | VM+agents per core | Prometheus per core | series Prom / VM | agents pending |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
