#!/usr/bin/env bash
# Instructions per request, counted by callgrind (repeatable on a noisy machine), for each
# variant and as the difference to bare axum. Two runs per variant (N1 and N2 requests) cancel
# the start-up cost: per request = (Ir(N2) - Ir(N1)) / (N2 - N1).
#   usage: benches/scripts/instructions.sh [VARIANT ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install -y valgrind)" >&2; exit 1; }

N1=${N1:-2000}
N2=${N2:-12000}
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  variants=(bare ours-around-router ours-router-layer tower-http-inflight autometrics prometheus-client-handwritten axum-prometheus)
fi
cargo build -q --release -p benches --example instructions
bin=target/release/examples/instructions
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # variant n -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$bin" "$1" "$2" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out/cg.$1.$2"
}

declare -A per
printf '%-32s %14s %14s\n' variant instr/request added
for v in "${variants[@]}"; do
  a=$(count "$v" "$N1"); b=$(count "$v" "$N2")
  per[$v]=$(( (b - a) / (N2 - N1) ))
  base=${per[bare]:-}
  if [ -n "$base" ]; then added=$(( per[$v] - base )); else added="?"; fi
  printf '%-32s %14s %14s\n' "$v" "${per[$v]}" "$added"
done
