#!/usr/bin/env bash
# Instructions per request, counted by callgrind (repeatable on a noisy machine), for each
# variant and as the difference to bare axum. Only the request loop is counted (the example's
# `measured` function, after a warm-up), so start-up work is left out.
#   usage: benches/scripts/instructions.sh [VARIANT ...]   (default: all); N requests (env).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install -y valgrind)" >&2; exit 1; }

N=${N:-5000}
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  variants=(bare ours-quickstart ours-traced ours-exemplars ours-around-router ours-router-layer ours-path-excluded tower-http-inflight
            autometrics prometheus-client-handwritten axum-prometheus)
fi
cargo build -q --release -p benches --example instructions
bin=target/release/examples/instructions
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # variant -> instructions in the request loop
  valgrind --tool=callgrind --toggle-collect='*measured*' \
    --callgrind-out-file="$out/cg.$1" "$bin" "$1" "$N" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out/cg.$1"
}

declare -A per
printf '%-32s %14s %14s\n' variant instr/request added
for v in "${variants[@]}"; do
  per[$v]=$(( $(count "$v") / N ))
  base=${per[bare]:-}
  if [ -n "$base" ]; then added=$(( per[$v] - base )); else added="?"; fi
  printf '%-32s %14s %14s\n' "$v" "${per[$v]}" "$added"
done
