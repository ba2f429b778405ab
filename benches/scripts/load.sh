#!/usr/bin/env bash
# Throughput and p99 latency under wrk, as ratios to bare axum. The server runs on core 0 (one
# thread), wrk on core 1; each variant's run is paired with a bare run just before it (bare A
# bare B ...), over several rounds, and each ratio is the median of the per-pair ratios, so
# slow drifts of a shared machine cancel out.
#   usage: benches/scripts/load.sh [VARIANT ...]   (default: bare ours-around-router ours-router-layer tower-http-inflight
#          prometheus-client-handwritten axum-prometheus); ROUNDS, DURATION, CONNECTIONS env.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  variants=(bare ours-quickstart ours-around-router ours-router-layer tower-http-inflight prometheus-client-handwritten axum-prometheus)
fi
if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build -q --release -p benches --example load_server
server=target/release/examples/load_server
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# One wrk run against a fresh server: prints "requests_per_second p99_microseconds".
measure() {
  local variant=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  taskset -c 0 "$server" "$variant" "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$work/server.log" 2>/dev/null && break; sleep 0.05; done
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/users/42" >"$work/wrk.txt"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  awk '/Requests\/sec/ {rps=$2}
       /^ +99%/ {v=$2; u=1; if (v ~ /ms$/) u=1000; else if (v ~ /us$/) u=1; else if (v ~ /s$/) u=1000000;
                 sub(/[a-z]+$/, "", v); p99=v*u}
       END {printf "%s %s\n", rps, p99}' "$work/wrk.txt"
}

# Each variant is paired with a bare run right before it, so a ratio only spans a few seconds
# of the machine's drift.
declare -A rps_ratios p99_ratios
for round in $(seq "$ROUNDS"); do
  for v in "${variants[@]}"; do
    [ "$v" = bare ] && continue
    read -r base_rps base_p99 < <(measure bare)
    read -r rps p99 < <(measure "$v")
    rps_ratios[$v]+="$(python3 -c "print($rps/$base_rps)") "
    p99_ratios[$v]+="$(python3 -c "print($p99/$base_p99)") "
    echo "round $round: bare $base_rps req/s, p99 ${base_p99} us; $v $rps req/s, p99 ${p99} us" >&2
  done
done
rps_ratios[bare]=1
p99_ratios[bare]=1

median() { python3 -c "import statistics,sys; print('%.3f' % statistics.median(map(float, sys.argv[1:])))" $1; }
printf '%-32s %18s %18s\n' variant throughput/bare p99/bare
for v in "${variants[@]}"; do
  printf '%-32s %18s %18s\n' "$v" "$(median "${rps_ratios[$v]}")" "$(median "${p99_ratios[$v]}")"
done
