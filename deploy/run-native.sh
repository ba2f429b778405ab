#!/usr/bin/env bash
# Runs the monitoring stack without Docker: Prometheus and Alertmanager from the system (Debian:
# apt-get install prometheus prometheus-alertmanager), with this directory's configuration, rules
# and routing, scraping a service that runs locally (e.g. `cargo run --example quickstart`).
# node-exporter joins when `prometheus-node-exporter` is installed, and the prober (this
# repository's `metrics-exporter` binary) when it is built. Grafana is not started: see
# README.md ("Without Docker") to point a Grafana at this Prometheus. Stops everything on Ctrl-C.
#
# Settings (environment variables, defaults in brackets):
#   DEMO_TARGET         host:port of the service's /metrics [127.0.0.1:9464]
#   PROMETHEUS_ADDR     where Prometheus listens [127.0.0.1:9090]
#   ALERTMANAGER_ADDR   where Alertmanager listens [127.0.0.1:9093]
#   NODE_EXPORTER_ADDR  where node-exporter listens, if installed [127.0.0.1:9100]
#   PROBER_BIN          the metrics-exporter binary, or `none` for no prober [metrics-exporter
#                       on PATH, else the release or debug build in this repository's target/
#                       (or CARGO_TARGET_DIR)]
#   PROBER_ADDR         where the prober serves /metrics [127.0.0.1:9465]
#   PROBE_TARGETS       what the prober probes (its TARGETS: comma-separated, each optionally
#                       name=URL) [quickstart=http://127.0.0.1:3000/,users=http://127.0.0.1:3000/users/1]
#                       PROBE_INTERVAL, PROBE_TIMEOUT, TARGETS_FILE and the binary's other
#                       variables are passed on to it as they are set.
#   SCRAPE_INTERVAL     scrape and rule evaluation interval [15s]
#   WEBHOOK_URL         where every receiver posts [http://127.0.0.1:5001/alerts]
#   GROUP_WAIT          Alertmanager's group_wait (how long it gathers a new group) [30s]
#   RESEND_DELAY        how often Prometheus resends firing alerts [1m]
#   EXTRA_RULES         one more rule file (or glob) to load [none]
#   STATE_DIR           data and logs [${XDG_STATE_HOME:-~/.local/state}/rust-monitoring]
#
# PROFILE=scale runs the scale-out path instead of Prometheus (deploy/README.md, "Past one
# Prometheus"), from Debian's victoria-metrics package: three Prometheus agents from
# scale/agent-shard-*.yml (shard 0 an HA pair) remote-writing to VictoriaMetrics, and vmalert on
# the same rule files notifying the same Alertmanager. No prober or node-exporter. Its settings:
#   SCALE_TARGETS       comma-separated host:port of the replicas' /metrics
#                       [127.0.0.1:9464,127.0.0.1:9466,127.0.0.1:9467]
#   VM_ADDR             where VictoriaMetrics listens [127.0.0.1:8428]
#   VMALERT_ADDR        where vmalert listens [127.0.0.1:8880]
#   AGENT_ADDRS         where the agents 0a, 0b and 1a listen
#                       [127.0.0.1:9191,127.0.0.1:9192,127.0.0.1:9193]
set -euo pipefail

deploy="$(cd "$(dirname "$0")" && pwd)"
DEMO_TARGET="${DEMO_TARGET:-127.0.0.1:9464}"
PROMETHEUS_ADDR="${PROMETHEUS_ADDR:-127.0.0.1:9090}"
ALERTMANAGER_ADDR="${ALERTMANAGER_ADDR:-127.0.0.1:9093}"
NODE_EXPORTER_ADDR="${NODE_EXPORTER_ADDR:-127.0.0.1:9100}"
PROBER_BIN="${PROBER_BIN:-}"
PROBER_ADDR="${PROBER_ADDR:-127.0.0.1:9465}"
PROBE_TARGETS="${PROBE_TARGETS:-quickstart=http://127.0.0.1:3000/,users=http://127.0.0.1:3000/users/1}"
SCRAPE_INTERVAL="${SCRAPE_INTERVAL:-15s}"
WEBHOOK_URL="${WEBHOOK_URL:-http://127.0.0.1:5001/alerts}"
GROUP_WAIT="${GROUP_WAIT:-30s}"
RESEND_DELAY="${RESEND_DELAY:-1m}"
EXTRA_RULES="${EXTRA_RULES:-}"
STATE_DIR="${STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/rust-monitoring}"
PROFILE="${PROFILE:-single}"
SCALE_TARGETS="${SCALE_TARGETS:-127.0.0.1:9464,127.0.0.1:9466,127.0.0.1:9467}"
VM_ADDR="${VM_ADDR:-127.0.0.1:8428}"
VMALERT_ADDR="${VMALERT_ADDR:-127.0.0.1:8880}"
AGENT_ADDRS="${AGENT_ADDRS:-127.0.0.1:9191,127.0.0.1:9192,127.0.0.1:9193}"

die() {
  echo "run-native.sh: $*" >&2
  exit 1
}

find_binary() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

# `true` when http://ADDR/PATH answers 200. Plain bash (/dev/tcp), so no curl is needed.
http_ok() {
  local addr="$1" path="$2"
  # A subshell: a refused connection ends it, not the script.
  (
    exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$addr" >&3
    IFS= read -r status <&3
    [[ "$status" == *" 200 "* ]]
  ) 2>/dev/null
}

wait_ready() {
  local name="$1" addr="$2" path="$3" pid="$4" log="$5"
  for _ in $(seq 1 100); do
    if http_ok "$addr" "$path"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited; its log ($log) ends with: $(tail -n 5 "$log")"
    sleep 0.2
  done
  die "$name is not ready at http://$addr$path after 20 s; see $log"
}

case "$PROFILE" in
  single | scale) ;;
  *) die "PROFILE: $PROFILE is not a profile: use single or scale" ;;
esac
prometheus_bin="$(find_binary prometheus)" || die "prometheus is not installed (apt-get install prometheus)"
alertmanager_bin="$(find_binary prometheus-alertmanager alertmanager)" ||
  die "Alertmanager is not installed (apt-get install prometheus-alertmanager)"

prober_off="no metrics-exporter binary: cargo build --release -p metrics-exporter --features standalone, or set PROBER_BIN"
if [ "$PROBER_BIN" = none ]; then
  PROBER_BIN=""
  prober_off="PROBER_BIN=none"
elif [ -n "$PROBER_BIN" ]; then
  [ -x "$PROBER_BIN" ] || die "PROBER_BIN: $PROBER_BIN is not an executable file"
else
  repo="$(dirname "$deploy")"
  target="${CARGO_TARGET_DIR:-$repo/target}"
  PROBER_BIN="$(find_binary metrics-exporter "$target/release/metrics-exporter" \
    "$target/debug/metrics-exporter")" || PROBER_BIN=""
fi

mkdir -p "$STATE_DIR/prometheus" "$STATE_DIR/alertmanager"

# The compose files address services by name; here everything is local. Rewrite the targets,
# the rule file paths and the intervals, then check that no compose name is left.
sed -e "s|\"quickstart:9464\"|\"$DEMO_TARGET\"|" \
  -e "s|\"node-exporter:9100\"|\"$NODE_EXPORTER_ADDR\"|" \
  -e "s|\"prober:9464\"|\"$PROBER_ADDR\"|" \
  -e "s|\"prometheus:9090\"|\"$PROMETHEUS_ADDR\"|" \
  -e "s|\"alertmanager:9093\"|\"$ALERTMANAGER_ADDR\"|" \
  -e "s|^  scrape_interval: 15s$|  scrape_interval: $SCRAPE_INTERVAL|" \
  -e "s|^  evaluation_interval: 15s$|  evaluation_interval: $SCRAPE_INTERVAL|" \
  -e "s|^  - rules/\*\.yml$|  - \"$deploy/prometheus/rules/*.yml\"|" \
  "$deploy/prometheus/prometheus.yml" >"$STATE_DIR/prometheus.yml"
if [ -n "$EXTRA_RULES" ]; then
  sed -i "s|^rule_files:$|rule_files:\n  - \"$EXTRA_RULES\"|" "$STATE_DIR/prometheus.yml"
fi
if grep -Eq '"(quickstart|node-exporter|prober|prometheus|alertmanager):[0-9]+"|^  - rules/' "$STATE_DIR/prometheus.yml"; then
  die "prometheus/prometheus.yml changed shape: update the rewrites in run-native.sh"
fi

sed -e "s|http://host.docker.internal:5001/alerts|$WEBHOOK_URL|" \
  -e "s|^  group_wait: 30s$|  group_wait: $GROUP_WAIT|" \
  -e "s|/etc/alertmanager/secrets/|$deploy/alertmanager/secrets/|" \
  "$deploy/alertmanager/alertmanager.yml" >"$STATE_DIR/alertmanager.yml"
if grep -q "host.docker.internal" "$STATE_DIR/alertmanager.yml"; then
  die "alertmanager/alertmanager.yml changed shape: update the rewrites in run-native.sh"
fi

# Stop whatever this script started, however it ends.
trap 'trap - EXIT; kill $(jobs -p) 2>/dev/null; wait' EXIT INT TERM

# Alertmanager first, so Prometheus' first alerts are not lost.
"$alertmanager_bin" --config.file="$STATE_DIR/alertmanager.yml" \
  --storage.path="$STATE_DIR/alertmanager" \
  --web.listen-address="$ALERTMANAGER_ADDR" \
  --cluster.listen-address= >"$STATE_DIR/alertmanager.log" 2>&1 &
wait_ready Alertmanager "$ALERTMANAGER_ADDR" /-/ready $! "$STATE_DIR/alertmanager.log"

if [ "$PROFILE" = scale ]; then
  vm_bin="$(find_binary victoria-metrics)" || die "victoria-metrics is not installed (apt-get install victoria-metrics)"
  vmalert_bin="$(find_binary vmalert)" || die "vmalert is not installed (apt-get install victoria-metrics)"
  mkdir -p "$STATE_DIR/victoria-metrics"
  # The scrape interval, so that the HA pair's samples merge into one per interval.
  "$vm_bin" -storageDataPath="$STATE_DIR/victoria-metrics" -retentionPeriod=30d \
    -dedup.minScrapeInterval="$SCRAPE_INTERVAL" \
    -httpListenAddr="$VM_ADDR" >"$STATE_DIR/victoria-metrics.log" 2>&1 &
  wait_ready VictoriaMetrics "$VM_ADDR" /health $! "$STATE_DIR/victoria-metrics.log"

  targets="\"${SCALE_TARGETS//,/\", \"}\""
  IFS=, read -r -a agent_addrs <<<"$AGENT_ADDRS"
  [ ${#agent_addrs[@]} -eq 3 ] || die "AGENT_ADDRS: give three addresses (agents 0a, 0b and 1a)"
  agents=(0a 0b 1a)
  for i in 0 1 2; do
    agent="${agents[$i]}"
    shard="${agent:0:1}"
    sed -e "s|^      - targets: \[\"quickstart-1:9464\", \"quickstart-2:9464\", \"quickstart-3:9464\"\]$|      - targets: [$targets]|" \
      -e "s|http://victoria-metrics:8428/|http://$VM_ADDR/|" \
      -e "s|^  scrape_interval: 15s$|  scrape_interval: $SCRAPE_INTERVAL|" \
      "$deploy/scale/agent-shard-$shard.yml" >"$STATE_DIR/agent-$agent.yml"
    if grep -Eq 'quickstart-[0-9]|victoria-metrics:' "$STATE_DIR/agent-$agent.yml"; then
      die "scale/agent-shard-$shard.yml changed shape: update the rewrites in run-native.sh"
    fi
    "$prometheus_bin" --enable-feature=agent --config.file="$STATE_DIR/agent-$agent.yml" \
      --storage.agent.path="$STATE_DIR/agent-$agent" \
      --web.listen-address="${agent_addrs[$i]}" >"$STATE_DIR/agent-$agent.log" 2>&1 &
    wait_ready "agent $agent" "${agent_addrs[$i]}" /-/ready $! "$STATE_DIR/agent-$agent.log"
  done

  rule_flags=(-rule="$deploy/prometheus/rules/*.yml")
  if [ -n "$EXTRA_RULES" ]; then
    rule_flags+=(-rule="$EXTRA_RULES")
  fi
  "$vmalert_bin" "${rule_flags[@]}" -datasource.url="http://$VM_ADDR" \
    -remoteWrite.url="http://$VM_ADDR" -remoteRead.url="http://$VM_ADDR" \
    -notifier.url="http://$ALERTMANAGER_ADDR" -evaluationInterval="$SCRAPE_INTERVAL" \
    -external.label=stack=deploy \
    -httpListenAddr="$VMALERT_ADDR" >"$STATE_DIR/vmalert.log" 2>&1 &
  wait_ready vmalert "$VMALERT_ADDR" /health $! "$STATE_DIR/vmalert.log"

  echo "VictoriaMetrics: http://$VM_ADDR (agents ${AGENT_ADDRS} scraping $SCALE_TARGETS every $SCRAPE_INTERVAL)"
  echo "vmalert:         http://$VMALERT_ADDR"
  echo "Alertmanager:    http://$ALERTMANAGER_ADDR (notifications to $WEBHOOK_URL)"
  echo "Logs and data: $STATE_DIR. Ctrl-C stops everything."
  wait -n
  exit
fi

if node_exporter_bin="$(find_binary prometheus-node-exporter node_exporter)"; then
  "$node_exporter_bin" --web.listen-address="$NODE_EXPORTER_ADDR" >"$STATE_DIR/node-exporter.log" 2>&1 &
else
  echo "run-native.sh: node-exporter is not installed: the node job stays down (apt-get install prometheus-node-exporter)" >&2
fi

if [ -n "$PROBER_BIN" ]; then
  METRICS_ADDR="$PROBER_ADDR" TARGETS="$PROBE_TARGETS" "$PROBER_BIN" >"$STATE_DIR/prober.log" 2>&1 &
  wait_ready prober "$PROBER_ADDR" /ready $! "$STATE_DIR/prober.log"
  prober_note="prober: http://$PROBER_ADDR/metrics, probing $PROBE_TARGETS"
else
  prober_note="prober: not started ($prober_off); the prober job stays down"
  echo "run-native.sh: $prober_note" >&2
fi

"$prometheus_bin" --config.file="$STATE_DIR/prometheus.yml" \
  --storage.tsdb.path="$STATE_DIR/prometheus" \
  --storage.tsdb.retention.time=30d \
  --rules.alert.resend-delay="$RESEND_DELAY" \
  --web.listen-address="$PROMETHEUS_ADDR" >"$STATE_DIR/prometheus.log" 2>&1 &
wait_ready Prometheus "$PROMETHEUS_ADDR" /-/ready $! "$STATE_DIR/prometheus.log"

echo "Prometheus:   http://$PROMETHEUS_ADDR (scraping $DEMO_TARGET every $SCRAPE_INTERVAL)"
echo "Alertmanager: http://$ALERTMANAGER_ADDR (notifications to $WEBHOOK_URL)"
echo "Prober:       ${prober_note#prober: }"
echo "Logs and data: $STATE_DIR. Ctrl-C stops everything."
# Exit (and so stop the rest) as soon as one of them stops.
wait -n
