#!/usr/bin/env bash
# Runs every check and test of the workspace: the one test command (README.md, .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Benchmarks: a smoke run only (each criterion benchmark once, debug build), to prove they
# build and run; the measurements themselves are benches/README.md's business.
cargo test -p benches --benches --locked
cargo test --workspace --locked
