#!/usr/bin/env bash
# Runs every check and test of the workspace: the one test command (README.md, .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean CI build never reuses incremental state, which would take about 2 GB of disk.
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
# The disk left, so that a build that runs out of it says so at the top of the log.
df -h . | awk 'NR == 2 {print "disk: " $4 " free of " $2}'

bash scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The three published packages, packaged and each built alone from its package as crates.io
# would (only the crates.io index is needed; nothing is uploaded). Verification is kept: it is
# the one check that a package builds without the workspace's feature unification and without
# files outside it, and cold it took 1m35s on the shared 2-core machine (2.5 CPU-minutes).
# The packages build outside the workspace, so our [profile.dev] does not apply to them: debug
# info off halves the disk (557 MB instead of 1.1 GB) and reuses dependencies the workspace
# already built (1m02s then). --allow-dirty: it checks the packages, not the git state.
# Cargo unpacks the dry run's packages under ~/.cargo/registry/src/-HASH/, the hash taken from
# the checkout's path, and reuses an unpacking of the same name and version: a second run from
# the same path would verify against the first run's sources. Remove ours first.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/metrics-toolkit-* \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/metrics-axum-* \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/metrics-exporter-*
CARGO_PROFILE_DEV_DEBUG=false cargo publish --workspace --dry-run --locked --allow-dirty \
  --exclude examples --exclude benches --exclude test-support
# Each library on its own with no features, its defaults and all of them (the workspace build
# above unifies features, which hides a gate that does not compile alone).
for crate in metrics-toolkit metrics-axum metrics-exporter; do
  for features in --no-default-features "" --all-features; do
    cargo clippy -p "$crate" --lib --locked $features -- -D warnings
  done
done
# Benchmarks: a smoke run only (each criterion benchmark once, debug build), to prove they
# build and run; the measurements themselves are benches/README.md's business.
cargo test -p benches --benches --locked
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary, the last often a crate
# without doc tests).
awk '/^test result:/ {passed += $4; failed += $6; ignored += $8}
     END {printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, ignored}' "$log"
