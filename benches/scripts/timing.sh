#!/usr/bin/env bash
# Nanoseconds added per request, in-process on one pinned core, every variant interleaved in
# each round; prints the median of per-round differences to bare and the share of
# axum-prometheus's added cost.
#   usage: benches/scripts/timing.sh [ROUNDS] [BATCH]   (defaults 31 and 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p benches --example timing
core=$(( $(nproc) - 1 ))
exec taskset -c "$core" target/release/examples/timing "$@"
